import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Callback signatures (a dhp extension; the cloud platform sends none).
 * Headers on every delivery:
 *   X-Dhp-Timestamp: epoch milliseconds of this attempt
 *   X-Dhp-Signature: v1=<lowercase hex HMAC-SHA256(secret, timestamp + "." + body)>
 * where secret is the app's secret and body the exact raw request body.
 */
export const SIGNATURE_HEADER = 'x-dhp-signature';
export const TIMESTAMP_HEADER = 'x-dhp-timestamp';
/**
 * The same on every attempt of one callback, different between callbacks: a receiver that
 * remembers it handles a retried delivery once. Not covered by the v1 signature (which is
 * unchanged); pair it with the signature's freshness check.
 */
export const DELIVERY_ID_HEADER = 'x-dhp-delivery-id';

export function signCallback(secret: string, timestamp: number | string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver runs: true when the signature matches and the timestamp is fresh. */
export function verifyCallback(
  headers: Record<string, string | string[] | undefined>, body: string, secret: string,
  opts: { toleranceMs?: number; now?: number } = {},
): boolean {
  const ts = String(headers[TIMESTAMP_HEADER] ?? '');
  const sig = String(headers[SIGNATURE_HEADER] ?? '');
  if (!/^\d+$/.test(ts) || !sig) return false;
  if (Math.abs((opts.now ?? Date.now()) - Number(ts)) > (opts.toleranceMs ?? 5 * 60_000)) return false;
  const expected = Buffer.from(signCallback(secret, ts, body));
  const given = Buffer.from(sig);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
