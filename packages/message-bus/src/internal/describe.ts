/**
 * A thrown value as text, for messages. Never throws itself: `String()` fails on objects without a
 * prototype (`Object.create(null)`) or with a throwing `toString`.
 */
export function describeError(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
