// Real packets captured from node-datachannel 0.33.4 (libdatachannel 0.24) on loopback: a publisher
// PeerConnection with H264RtpPacketizer (PT 102, SSRC 0x11223344) sending to a subscriber whose
// track has RtcpReceivingSession; bytes are what each side's track.onMessage delivered (decrypted).

/** hex turns a hex string into bytes. */
export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
}

/** H264_SPS is an SPS in a single-NAL RTP packet (no marker), sequence 0x4074. */
export const H264_SPS = hex("80664074aac8b4db112233446742c01f8c8d40a0249a");

/** H264_PPS is a PPS in a single-NAL RTP packet, sequence 0x4075. */
export const H264_PPS = hex("80664075aac8b4db1122334468ce3c80");

/** H264_FUA_END_MARKER is the last FU-A fragment of an IDR (marker set), sequence 0x4079. */
export const H264_FUA_END_MARKER = hex("80e64079aac8b4db112233447c4500000000");

/** H264_SINGLE_NAL_MARKER is a small IDR slice in one packet (marker set), sequence 0x407a. */
export const H264_SINGLE_NAL_MARKER = hex("80e6407aaac8c093112233446588840001010101010101010101010101010101010101010101010101010101010101010101010101010101");

/** LIBDATACHANNEL_RR is the receiver report RtcpReceivingSession sent back to the publisher. */
export const LIBDATACHANNEL_RR = hex("81c900071122334411223344000000000000000000000000c642fac600000000");

/** LIBDATACHANNEL_PLI is the PLI sent by track.requestKeyframe() on the subscriber. */
export const LIBDATACHANNEL_PLI = hex("81ce00021122334411223344");
