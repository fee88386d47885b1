/**
 * The browser meeting client's entry point (bundled by scripts/build.ts into public/client.js,
 * served as /static/client.js). It takes over <main id="conclave-meeting"> on the meeting page.
 */
import { readConfig } from "./config.ts";
import { h } from "./dom.ts";
import { startApp } from "./ui/app.ts";

function boot(): void {
  const root = document.getElementById("conclave-meeting");
  if (!root) return;
  if (!document.querySelector('link[href="/static/meeting.css"]')) document.head.append(h("link", { attrs: { rel: "stylesheet", href: "/static/meeting.css" } }));
  const cfg = readConfig(root.dataset);
  if (!cfg.ok) {
    root.append(h("p", { class: "notice error", attrs: { role: "alert" }, text: cfg.error }));
    return;
  }
  if (typeof RTCPeerConnection === "undefined" || !("WebSocket" in window)) {
    root.append(h("p", { class: "notice error", attrs: { role: "alert" }, text: "This browser cannot join video meetings. Use a current version of Chrome, Edge, Firefox or Safari." }));
    return;
  }
  startApp(root, cfg.config);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
