import type { AppContext } from "../http/context.ts";

/** ShellProps is what the meeting page embeds for the browser client (src/client/). */
export interface MeetingShellProps {
  c: AppContext;
  number: string;
  topic: string;
  displayName: string;
  nameEditable: boolean;
  host: boolean;
}

/**
 * MeetingShell renders the meeting page: an empty <main> whose data attributes the client
 * reads (escaped by JSX), a <noscript> explanation, and the same-origin client module.
 */
export function MeetingShell(p: MeetingShellProps): string {
  const doc = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${p.topic} · Conclave`}</title>
        <link rel="stylesheet" href="/static/app.css" />
        <link rel="stylesheet" href="/static/meeting.css" />
      </head>
      <body>
        <main
          id="conclave-meeting"
          data-meeting-number={p.number}
          data-topic={p.topic}
          data-display-name={p.displayName}
          data-name-editable={p.nameEditable ? "true" : "false"}
          data-token-url={`/j/${p.number}/token`}
          data-csrf={p.c.get("csrfToken")}
          data-host={p.host ? "true" : "false"}
        >
          <noscript>
            <section class="card narrow">
              <h1>{p.topic}</h1>
              <p>Conclave meetings run in your browser and need JavaScript for camera, microphone and the connection to the meeting. Turn JavaScript on for this site, then reload the page.</p>
            </section>
          </noscript>
        </main>
        <script type="module" src="/static/client.js"></script>
      </body>
    </html>
  );
  return "<!doctype html>" + doc.toString();
}
