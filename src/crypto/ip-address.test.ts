import { describe, expect, test } from "bun:test";
import { ipAddressBytes } from "./ip-address.ts";

const hex = (b: Uint8Array | null): string | null => (b ? Buffer.from(b).toString("hex") : null);

describe("ipAddressBytes", () => {
  test("parses IPv4 addresses", () => {
    expect(hex(ipAddressBytes("127.0.0.1"))).toBe("7f000001");
    expect(hex(ipAddressBytes("255.255.255.255"))).toBe("ffffffff");
  });

  test("parses IPv6 addresses in every shorthand", () => {
    expect(hex(ipAddressBytes("::1"))).toBe("00000000000000000000000000000001");
    expect(hex(ipAddressBytes("::"))).toBe("00000000000000000000000000000000");
    expect(hex(ipAddressBytes("2001:db8::8a2e:370:7334"))).toBe("20010db80000000000008a2e03707334");
    expect(hex(ipAddressBytes("fe80::"))).toBe("fe800000000000000000000000000000");
    expect(hex(ipAddressBytes("1:2:3:4:5:6:7:8"))).toBe("00010002000300040005000600070008");
    expect(hex(ipAddressBytes("::ffff:192.0.2.1"))).toBe("00000000000000000000ffffc0000201");
    expect(hex(ipAddressBytes("2001:DB8::1"))).toBe("20010db8000000000000000000000001");
  });

  test("returns null for anything that is not an address literal", () => {
    for (const bad of ["", "localhost", "256.0.0.1", "1.2.3", "1:2:3:4:5:6:7:8:9", "1::2::3", "fe80::1%eth0", "[::1]", "12345::"]) {
      expect(ipAddressBytes(bad)).toBeNull();
    }
  });
});
