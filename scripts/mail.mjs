#!/usr/bin/env node
// `make mail`: the mail the local stack has sent (sign-in codes, session requests), as
// moto server's SES holds it, newest last. `node scripts/mail.mjs ADDRESS` shows only the
// mail to ADDRESS. The e2e journeys read codes the same way (e2e/support.js, sentMail).
const moto = process.env.AWS_ENDPOINT_URL_SESV2 ?? 'http://127.0.0.1:8000';

export async function sentMail(to, base = moto) {
  const response = await fetch(`${base}/moto-api/data.json`);
  if (!response.ok) throw new Error(`moto server at ${base}: HTTP ${response.status}`);
  const messages = (await response.json()).ses?.Message ?? [];
  return messages
    .map((m) => ({ from: m.source, to: m.destinations?.ToAddresses ?? [], subject: m.subject, body: m.body }))
    .filter((m) => to === undefined || m.to.includes(to));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const mail = await sentMail(process.argv[2]);
    if (mail.length === 0) console.log('No mail sent yet.');
    for (const m of mail) {
      console.log(`From: ${m.from}\nTo: ${m.to.join(', ')}\nSubject: ${m.subject}\n\n${m.body}\n${'-'.repeat(60)}`);
    }
  } catch (err) {
    console.error(`mail: ${err.message} (is the stack up? make up)`);
    process.exit(1);
  }
}
