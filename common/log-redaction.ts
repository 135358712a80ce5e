/**
 * Last line of defence for text that goes to a log line (worker logs are never encrypted): masks
 * what can only be personal data in an error message. Pure, safe in workflow code. Connectors
 * keep names and addresses out of their messages in the first place; this catches what a
 * server's own text (an LDAP or HTTP error) might still carry.
 */

const EMAIL = /[^\s@'"<>(),;:]+@[^\s@'"<>(),;:]+\.[A-Za-z]{2,}/g;
// The value of a naming attribute in a DN: CN=Jan de Vries,OU=... → CN=…,OU=...
const DN_VALUE = /\b(CN|UID)=((?:\\.|[^,+\\])+)/gi;
// Anything quoted: 'jan.devries', "Jan de Vries", ‘…’, “…”.
const QUOTED = /'[^']*'|"[^"]*"|‘[^’]*’|“[^”]*”/g;

export function redactForLog(text: string): string {
  return text
    .replace(EMAIL, '<address>')
    .replace(DN_VALUE, (_m, attr: string) => `${attr}=<name>`)
    .replace(QUOTED, '<value>');
}
