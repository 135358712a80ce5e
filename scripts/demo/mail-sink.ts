// The demo's mail server: accepts every message on 127.0.0.1 and prints sender, recipient and subject.
import { SmtpSink } from '../../test/support/smtp-sink.js';

const port = Number(process.argv[2] ?? 2525);
const sink = await new SmtpSink().start(port);
console.log(`demo mail sink listening on 127.0.0.1:${sink.port}`);
setInterval(() => {
  for (const m of sink.messages.splice(0))
    console.log(`${m.receivedAt.toISOString()}  to ${m.to.join(', ')}  "${m.subject}"\n${m.text}\n`);
}, 1000);
