// Display formats. Money arrives from the API as decimal strings of USD ("12.5", "-0.000150") and is
// formatted as text, never through a float; only charts turn it into numbers (for drawing).

const MONEY = /^(-?)(\d+)(?:\.(\d{1,6}))?$/;

/** "1234.5" → "$1,234.50"; "0.00015" → "$0.00015" (2 to 6 decimals, never rounded) */
export function usd(amount: string | null | undefined): string {
  if (amount === null || amount === undefined) return "—";
  const m = MONEY.exec(amount.trim());
  if (!m) return amount;
  const [, sign, whole, frac = ""] = m;
  const decimals = frac.replace(/0+$/, "").padEnd(2, "0");
  return `${sign}$${whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${decimals}`;
}

/** for charts only */
export const usdNumber = (amount: string) => Number(amount);

export const num = (n: number | null | undefined) => (n === null || n === undefined ? "—" : n.toLocaleString("en-US"));

export const percent = (x: number | null | undefined) =>
  x === null || x === undefined ? "—" : `${(x * 100).toFixed(x < 0.1 && x > 0 ? 1 : 0)}%`;

/** ISO instant → "2026-11-27 14:04:05 UTC" (operators compare instants across machines: always UTC) */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

export const shortHash = (hash: string | null | undefined) => (hash ? `${hash.slice(0, 10)}…` : "—");

/** value of an <input type="datetime-local">, read as UTC → ISO instant */
export const utcInput = (value: string) => new Date(`${value.length === 16 ? `${value}:00` : value}Z`).toISOString();
/** ISO instant → value for an <input type="datetime-local"> in UTC */
export const toUtcInput = (iso: string) => iso.slice(0, 16);

export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min ${seconds % 60} s`;
}

export const bytes = (n: number) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GB` : `${(n / (1 << 20)).toFixed(0)} MB`);
