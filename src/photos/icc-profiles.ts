// The RGB colour spaces whose ICC profiles the app writes itself (sRGB, Display P3, Adobe RGB (1998)):
// each profile made here from the space's published primaries, white point and tone curve, and an
// uploaded profile recognised as one of them by the same numbers, never by its name.
import { createHash } from 'node:crypto';

export type ColourSpaceName = 'sRGB' | 'Display P3' | 'Adobe RGB (1998)';

type Vector = [number, number, number];
type Matrix = [Vector, Vector, Vector];

interface ColourSpace {
  name: ColourSpaceName;
  /** The description written in the app's profile (Adobe's name is a trademark: its compatible space is named so). */
  description: string;
  /** CIE 1931 xy chromaticities of the red, green and blue primaries. */
  primaries: [[number, number], [number, number], [number, number]];
  /** The tone curve: as the app writes it, and its inverse (from linear light to encoded value) to check others against. */
  curve: { parametric: ParametricCurve; toEncoded: (linear: number) => number };
}

/** An ICC parametric curve (`para`): its function type and parameters. */
interface ParametricCurve {
  type: 0 | 3;
  parameters: number[];
}

/** IEC 61966-2-1: the sRGB curve, a line near black and a 2.4 power above. Display P3 uses it too. */
const SRGB_CURVE: ColourSpace['curve'] = {
  toEncoded: (linear) => (linear <= 0.0031308 ? linear * 12.92 : 1.055 * linear ** (1 / 2.4) - 0.055),
  parametric: { type: 3, parameters: [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045] },
};
/** Adobe RGB (1998) Color Image Encoding (version 2005-05): a pure power of 563/256 (2.19921875). */
const ADOBE_RGB_GAMMA = 563 / 256;

/** Published primaries: IEC 61966-2-1 (sRGB), SMPTE EG 432-1 with a D65 white (Display P3), Adobe (1998). */
const SPACES: ColourSpace[] = [
  {
    name: 'sRGB',
    description: 'sRGB',
    primaries: [
      [0.64, 0.33],
      [0.3, 0.6],
      [0.15, 0.06],
    ],
    curve: SRGB_CURVE,
  },
  {
    name: 'Display P3',
    description: 'Display P3',
    primaries: [
      [0.68, 0.32],
      [0.265, 0.69],
      [0.15, 0.06],
    ],
    curve: SRGB_CURVE,
  },
  {
    name: 'Adobe RGB (1998)',
    description: 'Compatible with Adobe RGB (1998)',
    primaries: [
      [0.64, 0.33],
      [0.21, 0.71],
      [0.15, 0.06],
    ],
    curve: {
      toEncoded: (linear) => linear ** (1 / ADOBE_RGB_GAMMA),
      parametric: { type: 0, parameters: [ADOBE_RGB_GAMMA] },
    },
  },
];

/** All three spaces share the D65 white point (x 0.3127, y 0.3290). */
const D65 = xyToXyz(0.3127, 0.329);
/** The ICC profile connection space's illuminant (ICC.1:2022, 7.2.16). */
const D50: Vector = [0.9642, 1, 0.8249];
/** Bradford cone response (ICC.1:2022, Annex E), for adapting D65 colours to the D50 of the connection space. */
const BRADFORD: Matrix = [
  [0.8951, 0.2664, -0.1614],
  [-0.7502, 1.7135, 0.0367],
  [0.0389, -0.0685, 1.0296],
];
const D65_TO_D50 = chromaticAdaptation(D65, D50);

/**
 * How close an uploaded profile's numbers must be to a space's for the app's profile to render its pixels
 * alike: colorants and white point in XYZ, tone curves as the value they give back once encoded with the
 * space's own curve. Renderings then differ by at most a step or two of 8-bit colour, in the darkest
 * channel of saturated colours.
 */
const COLORANT_TOLERANCE = 0.002;
const WHITE_TOLERANCE = 0.002;
const CURVE_TOLERANCE = 0.5 / 255;
/** A matrix/TRC profile is a few kilobytes; anything far larger is not one the app can vouch for. */
export const MAX_RECOGNISED_PROFILE_BYTES = 256 * 1024;
/**
 * Tags that do not change how a matrix/TRC RGB profile converts colours to the connection space (names,
 * copyright, white and black points, the adaptation matrix, viewing and measurement notes, display
 * calibration). Any other tag, such as a lookup table (A2B0…), which decoders prefer to the matrix, or a
 * `cicp` tag, which changes the tone curve in some browsers, makes the profile one the app does not vouch for.
 */
const HARMLESS_TAGS = new Set(
  'rXYZ gXYZ bXYZ rTRC gTRC bTRC desc cprt wtpt bkpt chad chrm dmnd dmdd vued view lumi meas tech mmod dscm ndin vcgt arts ciis calt targ'.split(
    ' ',
  ),
);

/** The colour space whose profile this is (within tolerance), or undefined when it is none the app writes. */
export function recogniseProfile(profile: Buffer): ColourSpaceName | undefined {
  const parsed = readMatrixProfile(profile);
  if (!parsed) return undefined;
  return SPACES.find((space) => {
    const expected = colorantsOf(space);
    const coloursMatch = expected.every((colorant, index) => near(colorant, parsed.colorants[index]!, COLORANT_TOLERANCE));
    const whiteMatches = near(parsed.white, D50, WHITE_TOLERANCE) || near(parsed.white, D65, WHITE_TOLERANCE);
    return coloursMatch && whiteMatches && parsed.curves.every((curve) => curveMatches(curve, space.curve));
  })?.name;
}

const profiles = new Map<ColourSpaceName, Buffer>();

/** The app's own ICC profile (version 4.3, matrix and parametric curves) of a space, made once. */
export function iccProfileOf(name: ColourSpaceName): Buffer {
  let profile = profiles.get(name);
  if (!profile) {
    profile = writeMatrixProfile(SPACES.find((space) => space.name === name)!);
    profiles.set(name, profile);
  }
  return profile;
}

/** The red, green and blue colorants of a space as XYZ adapted to D50: the columns of its matrix. */
function colorantsOf(space: ColourSpace): Matrix {
  const primaries = space.primaries.map(([x, y]) => xyToXyz(x, y));
  // Each primary scaled so that the three together make the white point.
  const scale = multiply(invert(transpose(primaries as Matrix)), D65);
  return primaries.map((primary, index) => multiply(D65_TO_D50, primary.map((value) => value * scale[index]!) as Vector)) as Matrix;
}

function xyToXyz(x: number, y: number): Vector {
  return [x / y, 1, (1 - x - y) / y];
}

function chromaticAdaptation(from: Vector, to: Vector): Matrix {
  const [fromCone, toCone] = [multiply(BRADFORD, from), multiply(BRADFORD, to)];
  const scaled = BRADFORD.map((row, index) => row.map((value) => (value * toCone[index]!) / fromCone[index]!)) as Matrix;
  return multiplyMatrices(invert(BRADFORD), scaled);
}

function multiply(matrix: Matrix, vector: Vector): Vector {
  return matrix.map((row) => row[0] * vector[0] + row[1] * vector[1] + row[2] * vector[2]) as Vector;
}

function multiplyMatrices(left: Matrix, right: Matrix): Matrix {
  return left.map((row) =>
    [0, 1, 2].map((column) => row[0] * right[0][column]! + row[1] * right[1][column]! + row[2] * right[2][column]!),
  ) as Matrix;
}

function transpose(matrix: Matrix): Matrix {
  return [0, 1, 2].map((column) => matrix.map((row) => row[column]!)) as Matrix;
}

function invert([[a, b, c], [d, e, f], [g, h, i]]: Matrix): Matrix {
  const determinant = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  return [
    [(e * i - f * h) / determinant, (c * h - b * i) / determinant, (b * f - c * e) / determinant],
    [(f * g - d * i) / determinant, (a * i - c * g) / determinant, (c * d - a * f) / determinant],
    [(d * h - e * g) / determinant, (b * g - a * h) / determinant, (a * e - b * d) / determinant],
  ];
}

function near(actual: readonly number[], expected: readonly number[], tolerance: number): boolean {
  return actual.every((value, index) => Math.abs(value - expected[index]!) <= tolerance);
}

/** A tone curve as read from a profile: linear light for an encoded value in [0, 1]. */
type ToneCurve = (encoded: number) => number;

/**
 * Matches when the curve, at every 8-bit input and three points between each pair, gives what the space's
 * curve would once encoded back with it. 8-bit decoders sample it only at those inputs.
 */
function curveMatches(curve: ToneCurve, space: ColourSpace['curve']): boolean {
  const steps = 255 * 4;
  for (let step = 0; step <= steps; step++) {
    const encoded = step / steps;
    const linear = curve(encoded);
    if (!(linear >= 0 && linear <= 1) || Math.abs(space.toEncoded(linear) - encoded) > CURVE_TOLERANCE) return false;
  }
  return true;
}

/** The numbers of a matrix/TRC RGB profile, or undefined when the profile is anything else or malformed. */
function readMatrixProfile(profile: Buffer): { colorants: Matrix; white: Vector; curves: ToneCurve[] } | undefined {
  if (profile.length < 132 || profile.length > MAX_RECOGNISED_PROFILE_BYTES || profile.readUInt32BE(0) !== profile.length) return undefined;
  const text = (at: number) => profile.toString('latin1', at, at + 4);
  if (text(36) !== 'acsp' || text(16) !== 'RGB ' || text(20) !== 'XYZ ' || !['mntr', 'scnr', 'spac'].includes(text(12))) return undefined;
  if (profile[8] !== 2 && profile[8] !== 4) return undefined;
  const count = profile.readUInt32BE(128);
  if (132 + 12 * count > profile.length) return undefined;
  const tags = new Map<string, Buffer>();
  for (let index = 0; index < count; index++) {
    const entry = 132 + 12 * index;
    const [signature, offset, size] = [text(entry), profile.readUInt32BE(entry + 4), profile.readUInt32BE(entry + 8)];
    if (!HARMLESS_TAGS.has(signature) || tags.has(signature) || offset < 132 || size < 8 || offset + size > profile.length)
      return undefined;
    tags.set(signature, profile.subarray(offset, offset + size));
  }
  const xyz = (signature: string): Vector | undefined => {
    const tag = tags.get(signature);
    if (!tag || tag.length < 20 || tag.toString('latin1', 0, 4) !== 'XYZ ') return undefined;
    return [0, 1, 2].map((index) => tag.readInt32BE(8 + 4 * index) / 65536) as Vector;
  };
  const colorants = ['rXYZ', 'gXYZ', 'bXYZ'].map(xyz);
  const white = xyz('wtpt');
  const curves = ['rTRC', 'gTRC', 'bTRC'].map((signature) => toneCurve(tags.get(signature)));
  if (!white || colorants.some((colorant) => !colorant) || curves.some((curve) => !curve)) return undefined;
  return { colorants: colorants as Matrix, white, curves: curves as ToneCurve[] };
}

/** A `curv` (identity, a gamma, or a sampled table) or `para` (ICC.1:2022, 10.18) tag as a function. */
function toneCurve(tag: Buffer | undefined): ToneCurve | undefined {
  if (!tag || tag.length < 12) return undefined;
  const type = tag.toString('latin1', 0, 4);
  if (type === 'curv') {
    const entries = tag.readUInt32BE(8);
    if (tag.length < 12 + 2 * entries) return undefined;
    if (entries === 0) return (encoded) => encoded;
    if (entries === 1) {
      const gamma = tag.readUInt16BE(12) / 256;
      return (encoded) => encoded ** gamma;
    }
    return (encoded) => {
      const position = encoded * (entries - 1);
      const below = Math.min(Math.floor(position), entries - 2);
      const [low, high] = [tag.readUInt16BE(12 + 2 * below), tag.readUInt16BE(14 + 2 * below)];
      return (low + (high - low) * (position - below)) / 65535;
    };
  }
  if (type !== 'para') return undefined;
  const functionType = tag.readUInt16BE(8);
  const parameterCount = [1, 3, 4, 5, 7][functionType];
  if (parameterCount === undefined || tag.length < 12 + 4 * parameterCount) return undefined;
  const [g, a = 1, b = 0, c = 0, d = 0, e = 0, f = 0] = Array.from(
    { length: parameterCount },
    (_, index) => tag.readInt32BE(12 + 4 * index) / 65536,
  );
  switch (functionType) {
    case 0:
      return (x) => x ** g!;
    case 1:
      return (x) => (x >= -b / a ? (a * x + b) ** g! : 0);
    case 2:
      return (x) => (x >= -b / a ? (a * x + b) ** g! + c : c);
    case 3:
      return (x) => (x >= d ? (a * x + b) ** g! : c * x);
    default:
      return (x) => (x >= d ? (a * x + b) ** g! + e : c * x + f);
  }
}

/**
 * A version 4.3 display profile: description and copyright (`mluc`), the D50 white point, the D65-to-D50
 * adaptation (`chad`), the colorants and one parametric curve shared by the three channels, with its MD5
 * profile ID (ICC.1:2022, 7.2.18).
 */
function writeMatrixProfile(space: ColourSpace): Buffer {
  const curve = Buffer.alloc(12 + 4 * space.curve.parametric.parameters.length);
  curve.write('para', 0, 'latin1');
  curve.writeUInt16BE(space.curve.parametric.type, 8);
  writeFixed(curve, space.curve.parametric.parameters, 12);
  const colorants = colorantsOf(space);
  const tags: [string, Buffer][] = [
    ['desc', multiLocalisedText(space.description)],
    ['cprt', multiLocalisedText('No copyright, use freely')],
    ['wtpt', xyzTag(D50)],
    ['chad', fixedArrayTag(D65_TO_D50.flat())],
    ['rXYZ', xyzTag(colorants[0])],
    ['gXYZ', xyzTag(colorants[1])],
    ['bXYZ', xyzTag(colorants[2])],
    ['rTRC', curve],
    ['gTRC', curve],
    ['bTRC', curve],
  ];
  const table = Buffer.alloc(4 + 12 * tags.length);
  table.writeUInt32BE(tags.length, 0);
  const bodies: Buffer[] = [];
  const offsets = new Map<Buffer, number>();
  let end = 128 + table.length;
  tags.forEach(([signature, body], index) => {
    let offset = offsets.get(body);
    if (offset === undefined) {
      offset = end;
      offsets.set(body, offset);
      const padded = Buffer.alloc(Math.ceil(body.length / 4) * 4);
      body.copy(padded);
      bodies.push(padded);
      end += padded.length;
    }
    table.write(signature, 4 + 12 * index, 'latin1');
    table.writeUInt32BE(offset, 8 + 12 * index);
    table.writeUInt32BE(body.length, 12 + 12 * index);
  });
  const header = Buffer.alloc(128);
  header.writeUInt32BE(end, 0);
  header.writeUInt32BE(0x04300000, 8);
  header.write('mntrRGB XYZ ', 12, 'latin1');
  for (const [index, value] of [2024, 1, 1, 0, 0, 0].entries()) header.writeUInt16BE(value, 24 + 2 * index); // a fixed date
  header.write('acsp', 36, 'latin1');
  writeFixed(header, D50, 68);
  const profile = Buffer.concat([header, table, ...bodies]);
  // The profile ID: MD5 of the profile with its flags, rendering intent and ID fields zeroed (here they are).
  createHash('md5').update(profile).digest().copy(profile, 84);
  return profile;
}

function s15Fixed16(value: number): number {
  return Math.round(value * 65536);
}

function xyzTag(value: Vector): Buffer {
  return fixedArrayTag(value, 'XYZ ');
}

function fixedArrayTag(values: number[], type = 'sf32'): Buffer {
  const tag = Buffer.alloc(8 + 4 * values.length);
  tag.write(type, 0, 'latin1');
  writeFixed(tag, values, 8);
  return tag;
}

/** Numbers as s15Fixed16 (ICC.1:2022, 4.6), one after another from `at`. */
function writeFixed(target: Buffer, values: readonly number[], at: number): void {
  for (const [index, value] of values.entries()) target.writeInt32BE(s15Fixed16(value), at + 4 * index);
}

/** A `mluc` tag holding one English (US) string. */
function multiLocalisedText(text: string): Buffer {
  const utf16 = Buffer.from(text, 'utf16le').swap16();
  const tag = Buffer.alloc(28 + utf16.length);
  tag.write('mluc', 0, 'latin1');
  tag.writeUInt32BE(1, 8); // one record
  tag.writeUInt32BE(12, 12); // of 12 bytes
  tag.write('enUS', 16, 'latin1');
  tag.writeUInt32BE(utf16.length, 20);
  tag.writeUInt32BE(28, 24);
  utf16.copy(tag, 28);
  return tag;
}
