import { record } from '@rrweb/record';
import { afterEach, describe, expect, it } from 'vitest';
import { maskText } from '../src/privacy';
import { BLOCK_SELECTOR, MASK_SELECTOR, maskAll, maskReplayText, MEDIA_SELECTOR, recordOptions } from '../src/replay-options';
import type { PrivacyMode } from '../src/types';
import './replay-helpers'; // rrweb in happy-dom

afterEach(() => {
  document.body.innerHTML = '';
});

/** Personal data planted in page text, and what of it must not leave the page. */
const PLANTED = [
  ['Contact ann.lee+shop@example.co.uk today', 'ann.lee+shop@example.co.uk'],
  ['Call +1 (555) 867-5309 now', '867-5309'],
  ['Card 4111 1111 1111 1111 exp 12/29', '4111 1111'],
  ['SSN 123-45-6789 on file', '123-45-6789'],
];

describe('rrweb options by privacy mode', () => {
  it('masks every input and blocks marked elements in every mode, records no canvas, images or fonts', () => {
    for (const mode of ['strict', 'balanced', 'permissive'] as PrivacyMode[]) {
      expect(recordOptions(mode)).toMatchObject({
        maskAllInputs: true,
        recordCanvas: false,
        inlineImages: false,
        collectFonts: false,
      });
      expect(recordOptions(mode).blockSelector).toContain('[data-insightlite-block],[data-insightlite-ignore]');
    }
  });

  it('strict: all text masked by rrweb, media blocked', () => {
    expect(recordOptions('strict')).toEqual({
      maskAllInputs: true,
      blockSelector: '[data-insightlite-block],[data-insightlite-ignore],img,video,canvas,picture,svg image',
      maskTextSelector: '*',
      recordCanvas: false,
      inlineImages: false,
      collectFonts: false,
    });
  });

  it('balanced: every text through maskReplayText', () => {
    expect(recordOptions('balanced')).toEqual({
      maskAllInputs: true,
      blockSelector: BLOCK_SELECTOR,
      maskTextSelector: '*',
      maskTextFn: maskReplayText,
      recordCanvas: false,
      inlineImages: false,
      collectFonts: false,
    });
  });

  it('permissive: only marked and editable elements masked, media kept', () => {
    const options = recordOptions('permissive');
    expect(options).toMatchObject({ blockSelector: BLOCK_SELECTOR, maskTextSelector: '[data-insightlite-mask],[contenteditable]' });
    expect(options.maskTextFn).toBeUndefined();
    expect(options.blockSelector).not.toContain(MEDIA_SELECTOR);
  });
});

describe('balanced text masking', () => {
  it('removes planted emails, phones, cards and SSNs, and keeps the words', () => {
    document.body.innerHTML = '<p>x</p>';
    const p = document.querySelector('p')!;
    for (const [text, secret] of PLANTED) {
      const masked = maskReplayText(text, p);
      expect(masked).not.toContain(secret);
      expect(masked).toBe(maskText(text)); // the tracker's own rules, not a copy of them
      expect(masked.split(' ')[0]).toBe(text.split(' ')[0]);
    }
    expect(maskReplayText('Call +1 (555) 867-5309 now', p)).toBe('Call +* (***) ***-**** now');
    expect(maskReplayText('Contact ann.lee+shop@example.co.uk today', p)).toBe('Contact [email] today');
  });

  it('masks all text under data-insightlite-mask and in editable elements', () => {
    document.body.innerHTML = '<div data-insightlite-mask><b>Ann Lee</b></div><div contenteditable><i>draft note</i></div><p>Ann Lee</p>';
    expect(maskReplayText('Ann Lee', document.querySelector('b'))).toBe('*** ***');
    expect(maskReplayText('draft note', document.querySelector('i'))).toBe('***** ****');
    expect(maskReplayText('Ann Lee', document.querySelector('p'))).toBe('Ann Lee');
    expect(maskAll(' a\tb c ')).toBe(' *\t* * ');
    expect(MASK_SELECTOR).toBe('[data-insightlite-mask],[contenteditable]');
  });
});

describe('what rrweb records with these options', () => {
  type Node = { tagName?: string; attributes?: Record<string, string>; childNodes?: Node[] };

  /** The full snapshot rrweb takes of the page with a mode's options, its elements by tag. */
  function snapshot(mode: PrivacyMode): Map<string, Node[]> {
    const events: Array<{ type: number; data: { node?: Node } }> = [];
    const stop = record({ ...recordOptions(mode), emit: (e) => void events.push(e as (typeof events)[number]) });
    if (stop) stop();
    const byTag = new Map<string, Node[]>();
    const walk = (node: Node): void => {
      if (node.tagName) byTag.set(node.tagName, [...(byTag.get(node.tagName) || []), node]);
      (node.childNodes || []).forEach(walk);
    };
    walk(events.find((e) => e.type === 2)!.data.node!);
    return byTag;
  }

  it('never records a typed value, password or not', () => {
    document.body.innerHTML =
      '<input value="ann@example.com"><input type="password" value="hunter2"><textarea>my card 4111</textarea>' +
      '<select><option value="4111" selected>4111</option></select>';
    for (const mode of ['strict', 'balanced', 'permissive'] as PrivacyMode[]) {
      const nodes = snapshot(mode);
      expect(nodes.get('input')!.map((n) => n.attributes!.value)).toEqual(['*'.repeat(15), '*'.repeat(7)]);
      expect(nodes.get('textarea')![0].attributes!.value).toBe('*'.repeat(12));
      expect(nodes.get('select')![0].attributes!.value).toBe('****');
    }
  });

  it('records blocked elements as empty boxes, and strict mode blocks media', () => {
    document.body.innerHTML =
      '<section data-insightlite-block><p>private</p></section><aside data-insightlite-ignore><p>private</p></aside>' +
      '<img src="/face.jpg"><video src="/v.mp4"></video><svg><image href="/x.png"></image></svg>';
    for (const mode of ['strict', 'balanced', 'permissive'] as PrivacyMode[]) {
      const nodes = snapshot(mode);
      for (const tag of ['section', 'aside']) {
        expect(nodes.get(tag)![0].childNodes).toEqual([]);
        expect(nodes.get(tag)![0].attributes).toHaveProperty('rr_width');
      }
      const img = nodes.get('img')![0].attributes!;
      if (mode === 'strict') {
        expect(img).not.toHaveProperty('src');
        expect(nodes.get('video')![0].attributes).not.toHaveProperty('src');
        expect(nodes.get('image')![0].attributes).not.toHaveProperty('href');
      } else expect(img.src).toBe('https://shop.example.com/face.jpg');
    }
  });
});
