// The app's own ICC profiles and the recognition of uploaded ones: by their numbers, from independent
// sources (sharp's built-in profiles, Adobe's published colorants), and safely on any bytes at all.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import { type ColourSpaceName, iccProfileOf, recogniseProfile } from '../../src/photos/icc-profiles.js';
import { ADOBE_RGB_1998, handMadeProfile, iccSegments, SRGB_COLORANTS, srgbToLinear, withSegments } from '../support/jpeg-colour.js';

const SPACES: ColourSpaceName[] = ['sRGB', 'Display P3', 'Adobe RGB (1998)'];

async function sharpsProfile(name: 'srgb' | 'p3'): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } })
    .withIccProfile(name)
    .jpeg()
    .toBuffer();
  const { icc } = await sharp(jpeg).metadata();
  assert.ok(icc);
  return icc;
}

describe('when a profile is recognised', () => {
  it("then each of the app's own profiles is recognised as its space, and sharp reads it as valid", async () => {
    for (const space of SPACES) {
      assert.equal(recogniseProfile(iccProfileOf(space)), space);
      const tagged = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } })
        .jpeg()
        .toBuffer();
      // sharp converts with an embedded profile, or warns and ignores one lcms cannot open.
      const withProfile = withSegments(tagged, ...iccSegments(iccProfileOf(space)));
      const warnings: string[] = [];
      const listener = (message: string) => warnings.push(message);
      await sharp(withProfile).on('warning', listener).raw().toBuffer();
      assert.deepEqual(warnings, [], `${space}: no warning from sharp`);
    }
  });

  it('then sharp’s built-in sRGB and Display P3 profiles, and one made from Adobe’s published numbers, are recognised', async () => {
    assert.equal(recogniseProfile(await sharpsProfile('srgb')), 'sRGB');
    assert.equal(recogniseProfile(await sharpsProfile('p3')), 'Display P3');
    assert.equal(recogniseProfile(handMadeProfile({ description: 'x', ...ADOBE_RGB_1998 })), 'Adobe RGB (1998)');
    assert.equal(recogniseProfile(handMadeProfile({ description: 'x', colorants: SRGB_COLORANTS, gamma: srgbToLinear })), 'sRGB');
  });

  it('then a name is not enough: sRGB’s primaries with a gamma of 2.2 or 1.8 are not sRGB', () => {
    for (const gamma of [1.8, 2.2])
      assert.equal(recogniseProfile(handMadeProfile({ description: 'sRGB', colorants: SRGB_COLORANTS, gamma })), undefined);
  });

  it('then any bytes, or any change to a real profile, give a space or none, without throwing', () => {
    const profile = iccProfileOf('Display P3');
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(profile.length - 1), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
        fc.nat(profile.length),
        (changes, length) => {
          const mutated = Buffer.from(profile.subarray(0, length));
          for (const { at, value } of changes) if (at < mutated.length) mutated[at] = value;
          const space = recogniseProfile(mutated);
          assert.ok(space === undefined || SPACES.includes(space));
        },
      ),
      { seed: 19, numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        assert.equal(recogniseProfile(Buffer.from(bytes)), undefined);
      }),
      { seed: 19, numRuns: 500 },
    );
  });
});
