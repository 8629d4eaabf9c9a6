/**
 * The unit codes a telemetry field may carry: UCUM case-sensitive codes, plus the few
 * conventional codes marked "(not UCUM)" that sensors and their catalogues report in
 * and that UCUM lacks or spells otherwise. A closed list, so `C`, `degC` and `Cel` cannot
 * all end up meaning the same thing in different files; add a code here when a new
 * device needs one.
 */
// biome-ignore format: one row per unit reads as the table it is
export const UNITS: Readonly<Record<string, string>> = Object.freeze({
  '1': 'dimensionless (counts, indices, ratios)',
  '%': 'percent',
  Cel: 'degree Celsius',
  K: 'kelvin (also colour temperature)',
  deg: 'degree of angle',
  um: 'micrometre', mm: 'millimetre', cm: 'centimetre', m: 'metre', km: 'kilometre',
  m2: 'square metre', L: 'litre', mL: 'millilitre', m3: 'cubic metre',
  g: 'gram', kg: 'kilogram', t: 'tonne',
  ms: 'millisecond', s: 'second', min: 'minute', h: 'hour', d: 'day',
  Hz: 'hertz', kHz: 'kilohertz', MHz: 'megahertz',
  'm/s': 'metre per second', 'km/h': 'kilometre per hour', 'm/s2': 'metre per second squared',
  'mm/s': 'millimetre per second (vibration velocity)', 'mm/h': 'millimetre per hour (rain rate)',
  'cm/h': 'centimetre per hour',
  '/m': 'per metre (dioptre)', '/s': 'per second', '/min': 'per minute (heart rate, breaths, rotations)', '/h': 'per hour', '/d': 'per day',
  '/m3': 'count per cubic metre', '/cm3': 'count per cubic centimetre', '{CFU}/dL': 'colony-forming units per 100 mL',
  'L/s': 'litre per second', 'L/min': 'litre per minute', 'mL/min': 'millilitre per minute', 'L/h': 'litre per hour', 'mL/h': 'millilitre per hour',
  'm3/s': 'cubic metre per second', 'm3/h': 'cubic metre per hour', 'kg/h': 'kilogram per hour', 't/h': 'tonne per hour',
  Pa: 'pascal', hPa: 'hectopascal', kPa: 'kilopascal', MPa: 'megapascal', bar: 'bar',
  'mm[Hg]': 'millimetre of mercury', 'cm[H2O]': 'centimetre of water',
  N: 'newton', kN: 'kilonewton', 'N.m': 'newton metre',
  mV: 'millivolt', V: 'volt', kV: 'kilovolt', mA: 'milliampere', A: 'ampere', kA: 'kiloampere',
  W: 'watt', kW: 'kilowatt', MW: 'megawatt', 'kV.A': 'kilovolt-ampere', kvar: 'kilovar, reactive power (not UCUM)',
  'W.h': 'watt hour', 'kW.h': 'kilowatt hour', 'MW.h': 'megawatt hour', MJ: 'megajoule', GJ: 'gigajoule',
  Ohm: 'ohm', MOhm: 'megaohm', pC: 'picocoulomb (partial discharge)',
  'V/m': 'volt per metre', uT: 'microtesla',
  lx: 'lux', 'cd/m2': 'candela per square metre', 'W/m2': 'watt per square metre',
  'mag/arcsec2': 'magnitude per square arcsecond, night-sky brightness (not UCUM)',
  dB: 'decibel (sound level, signal ratio)',
  'ug/m3': 'microgram per cubic metre', 'mg/m3': 'milligram per cubic metre',
  ppm: 'part per million (UCUM [ppm], not UCUM as written)', ppb: 'part per billion (UCUM [ppb], not UCUM as written)',
  'ug/L': 'microgram per litre', 'mg/L': 'milligram per litre', 'g/L': 'gram per litre', 'mg/kg': 'milligram per kilogram',
  'mmol/L': 'millimole per litre', 'mg/dL': 'milligram per decilitre',
  '[pH]': 'pH', NTU: 'nephelometric turbidity unit (not UCUM)', 'uS/cm': 'microsiemens per centimetre',
  'mS/cm': 'millisiemens per centimetre',
  'Bq/m3': 'becquerel per cubic metre', uSv: 'microsievert', 'uSv/h': 'microsievert per hour',
  'Mbit/s': 'megabit per second', GBy: 'gigabyte',
});

/** True when `code` is a unit of {@link UNITS}. */
export function isKnownUnit(code: string): boolean {
  return Object.hasOwn(UNITS, code);
}
