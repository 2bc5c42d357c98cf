import { afterEach, describe, expect, it, vi } from 'vitest';
import { fromAttributes } from '../src/attributes';
import { inFixedContainer } from '../src/heatmap';
import { selectorOf } from '../src/selector';
import { reset, start } from './helpers';

afterEach(reset);

function click(target: Element, init: MouseEventInit & { pageX?: number; pageY?: number }, type = 'click'): void {
  const event = new MouseEvent(type, { bubbles: true, ...init });
  // DOM emulations do not lay out the page, so page coordinates are given.
  Object.defineProperty(event, 'pageX', { value: init.pageX ?? init.clientX });
  Object.defineProperty(event, 'pageY', { value: init.pageY ?? init.clientY });
  target.dispatchEvent(event);
}

describe('clicks', () => {
  it('records document coordinates, viewport, selector and label', async () => {
    document.body.innerHTML = '<main><div class="card big"><button>Buy 2 for 19.99</button></div></main>';
    const h = start();
    click(document.querySelector('button')!, { clientX: 100, clientY: 50, pageX: 100, pageY: 1250 });
    await h.tracker.flush();
    const ev = h.posts.flat().find((e) => e.type === 'click')!;
    expect(ev).toMatchObject({ x: 100, y: 1250, vw: window.innerWidth, vh: window.innerHeight, target: 'main > div.card.big > button' });
    expect(ev.fixed).toBeUndefined();
    expect(ev.props).toEqual({ text: 'Buy * for **.**' });
  });

  it('uses viewport coordinates inside fixed or sticky containers', async () => {
    document.body.innerHTML = '<header style="position: fixed; top: 0"><nav><a id="cart">Cart</a></nav></header><p id="plain">x</p>';
    expect(inFixedContainer(document.querySelector('#cart')!)).toBe(true);
    expect(inFixedContainer(document.querySelector('#plain')!)).toBe(false);
    const h = start();
    click(document.querySelector('#cart')!, { clientX: 30, clientY: 10, pageX: 30, pageY: 910 });
    await h.tracker.flush();
    expect(h.posts.flat().find((e) => e.type === 'click')).toMatchObject({ x: 30, y: 10, fixed: true, target: 'a#cart' });
  });

  it('never records elements under data-insightlite-ignore', async () => {
    document.body.innerHTML = '<section data-insightlite-ignore><div><button>Secret</button></div></section>';
    const h = start();
    const button = document.querySelector('button')!;
    click(button, { clientX: 5, clientY: 5 });
    button.dispatchEvent(new MouseEvent('mousemove', { bubbles: true, clientX: 6, clientY: 6 }));
    await h.tracker.flush();
    expect(h.posts.flat().map((e) => e.type)).toEqual(['pageview']);
  });

  it('never reads what was typed: no text from inputs, in any mode', async () => {
    document.body.innerHTML = '<textarea>my card 4111 1111 1111 1111</textarea><div contenteditable><b>typed</b></div>';
    const h = start({ privacyMode: 'permissive' });
    const valueGetter = vi.spyOn(HTMLTextAreaElement.prototype, 'value', 'get');
    click(document.querySelector('textarea')!, { clientX: 1, clientY: 1 });
    click(document.querySelector('b')!, { clientX: 2, clientY: 2 });
    await h.tracker.flush();
    const clicks = h.posts.flat().filter((e) => e.type === 'click');
    expect(clicks).toHaveLength(2);
    expect(clicks.map((e) => e.props)).toEqual([undefined, undefined]);
    expect(valueGetter).not.toHaveBeenCalled();
  });

  it('strict mode sends no element text; permissive sends it as given', async () => {
    document.body.innerHTML = '<button id="b42">Call 555-0100</button>';
    const strict = start({ privacyMode: 'strict' });
    click(document.querySelector('button')!, { clientX: 1, clientY: 1 });
    await strict.tracker.flush();
    expect(strict.posts.flat().find((e) => e.type === 'click')).toMatchObject({ target: 'button#b**' });
    expect(strict.posts.flat().find((e) => e.type === 'click')!.props).toBeUndefined();
    reset();
    document.body.innerHTML = '<button id="b42">Call 555-0100</button>';
    const permissive = start({ privacyMode: 'permissive' });
    click(document.querySelector('button')!, { clientX: 1, clientY: 1 });
    await permissive.tracker.flush();
    expect(permissive.posts.flat().find((e) => e.type === 'click')).toMatchObject({ target: 'button#b42', props: { text: 'Call 555-0100' } });
  });
});

describe('moves and scrolls', () => {
  it('keeps one mouse point per 500 ms', async () => {
    document.body.innerHTML = '<div id="area">x</div>';
    const h = start();
    const area = document.querySelector('#area')!;
    for (let i = 0; i < 10; i++) {
      click(area, { clientX: i, clientY: i }, 'mousemove');
      h.clock.now += 100;
    }
    await h.tracker.flush();
    expect(h.posts.flat().filter((e) => e.type === 'move').map((e) => e.x)).toEqual([0, 5]);
  });

  it('records scroll depth after scrolling stops, deepest point only', async () => {
    vi.useFakeTimers();
    const h = start();
    const scrollTo = (y: number): void => {
      Object.defineProperty(window, 'scrollY', { configurable: true, value: y });
      window.dispatchEvent(new Event('scroll'));
    };
    scrollTo(100);
    await vi.advanceTimersByTimeAsync(100);
    scrollTo(900);
    await vi.advanceTimersByTimeAsync(300);
    scrollTo(400); // shallower than what was already seen: nothing new to say
    await vi.advanceTimersByTimeAsync(300);
    await h.tracker.flush();
    const scrolls = h.posts.flat().filter((e) => e.type === 'scroll');
    expect(scrolls).toHaveLength(1);
    expect(scrolls[0]).toMatchObject({ scroll_y: 900, vh: window.innerHeight, vw: window.innerWidth });
    // A new page view starts over.
    history.pushState(null, '', '/next');
    scrollTo(500);
    await vi.advanceTimersByTimeAsync(300);
    await h.tracker.flush();
    expect(h.posts.flat().filter((e) => e.type === 'scroll').map((e) => e.scroll_y)).toEqual([900, 500]);
    delete (window as { scrollY?: number }).scrollY;
  });

  it('captures nothing of the kind when a module is turned off', async () => {
    document.body.innerHTML = '<button>x</button>';
    const h = start({ enableHeatmaps: false, enableErrors: false });
    click(document.querySelector('button')!, { clientX: 1, clientY: 1 });
    window.dispatchEvent(new ErrorEvent('error', { message: 'Uncaught TypeError: x' }));
    await h.tracker.flush();
    expect(h.posts.flat().map((e) => e.type)).toEqual(['pageview']);
  });
});

describe('errors', () => {
  it('records window errors with a truncated stack', async () => {
    const h = start();
    const error = new TypeError('Cannot read properties of null');
    error.stack = ['TypeError: Cannot read properties of null', ...Array.from({ length: 50 }, (_, i) => `    at f${i} (https://shop.example.com/app.js?v=3:${i}:1)`)].join('\n');
    window.dispatchEvent(
      new ErrorEvent('error', { message: 'Uncaught TypeError: Cannot read properties of null', filename: 'https://shop.example.com/app.js?v=3', lineno: 10, colno: 5, error }),
    );
    await h.tracker.flush();
    const ev = h.posts.flat().find((e) => e.type === 'error')!;
    expect(ev.error).toMatchObject({ message: 'Uncaught TypeError: Cannot read properties of null', source: 'https://shop.example.com/app.js?v=*', line: 10, col: 5 });
    expect(ev.error!.stack!.split('\n')).toHaveLength(20);
    expect(ev.error!.stack).not.toContain('?v=3');
  });

  it('records unhandled rejections', async () => {
    const h = start();
    const reject = (reason: unknown): void => {
      const event = new Event('unhandledrejection') as PromiseRejectionEvent;
      Object.defineProperty(event, 'reason', { value: reason });
      window.dispatchEvent(event);
    };
    reject(new RangeError('too far'));
    reject('plain string');
    await h.tracker.flush();
    expect(h.posts.flat().filter((e) => e.type === 'error').map((e) => e.error!.message)).toEqual([
      'Uncaught (in promise) RangeError: too far',
      'Uncaught (in promise) plain string',
    ]);
  });

  it('masks digits and emails in balanced messages, and stops a flood', async () => {
    const h = start();
    for (let i = 0; i < 100; i++) window.dispatchEvent(new ErrorEvent('error', { message: `no user ann@example.com #${i % 50}` }));
    await h.tracker.flush();
    const errors = h.posts.flat().filter((e) => e.type === 'error');
    expect(errors.length).toBe(25);
    expect(errors[0].error!.message).toBe('no user [email] #*');
  });
});

describe('page views', () => {
  it('follows single-page-app navigation, not hash changes', async () => {
    const h = start();
    history.pushState(null, '', '/pricing?plan=pro');
    history.pushState(null, '', '/pricing?plan=pro#faq');
    history.replaceState(null, '', '/pricing?plan=team');
    // Back: the browser changes the location itself (not through the wrapped API), then fires popstate.
    History.prototype.replaceState.call(history, null, '', '/products?id=42');
    window.dispatchEvent(new PopStateEvent('popstate'));
    await h.tracker.flush();
    const views = h.posts.flat().filter((e) => e.type === 'pageview');
    expect(views.map((e) => e.url)).toEqual([
      'https://shop.example.com/products?id=**',
      'https://shop.example.com/pricing?plan=pro',
      'https://shop.example.com/pricing?plan=team',
      'https://shop.example.com/products?id=**',
    ]);
    expect(views[1].referrer).toBe('https://shop.example.com/products?id=**');
  });

  it('keeps custom props by mode', async () => {
    const props = { plan: 'pro', email: 'ann@example.com', seats: 12, nested: { phone: '555 0100' } };
    const strict = start({ privacyMode: 'strict', propsAllowList: ['plan', 'seats', 'nested'] });
    strict.tracker.track('signup', props);
    strict.tracker.identify({ name: 'Ann' });
    await strict.tracker.flush();
    const [, signup, identify] = strict.posts.flat();
    expect(signup.props).toEqual({ plan: 'pro', seats: 12 });
    expect(identify).toMatchObject({ type: 'custom', name: 'identify' });
    expect(identify.props).toBeUndefined();
    reset();
    const balanced = start();
    balanced.tracker.track('signup', props);
    balanced.tracker.identify({ name: 'Ann', email: 'ann@example.com' });
    await balanced.tracker.flush();
    expect(balanced.posts.flat()[1].props).toEqual({ plan: 'pro', email: '[email]', seats: 12, nested: { phone: '*** ****' } });
    expect(balanced.posts.flat()[2].props).toEqual({ name: 'Ann', email: '[email]' });
  });

  it('strips queries from the referrer in strict mode', async () => {
    Object.defineProperty(document, 'referrer', { configurable: true, value: 'https://search.example.org/q?s=ann%40example.com' });
    const h = start({ privacyMode: 'strict' });
    await h.tracker.flush();
    expect(h.posts[0][0]).toMatchObject({ referrer: 'https://search.example.org/q', url: 'https://shop.example.com/products' });
    delete (document as { referrer?: string }).referrer;
  });
});

describe('script tag', () => {
  it('reads settings from data attributes', () => {
    const tag = document.createElement('script');
    tag.setAttribute('data-site-id', 'shop');
    tag.setAttribute('data-flush-size', '10');
    tag.setAttribute('data-heatmaps', 'false');
    tag.setAttribute('data-respect-dnt', 'false');
    tag.setAttribute('data-props-allow-list', 'plan, seats');
    expect(fromAttributes(tag.dataset)).toEqual({
      siteId: 'shop',
      flushSize: '10',
      enableHeatmaps: 'false',
      respectDoNotTrack: 'false',
      propsAllowList: ['plan', 'seats'],
    });
  });

  it('exposes the API on window and replays calls queued before it loaded', async () => {
    const h = start(); // stubs the network; the script's own init reuses this tracker
    const w = window as Window & { insightliteQ?: unknown[]; insightlite?: { flush(): Promise<void> } };
    w.insightliteQ = [['track', 'early', { plan: 'pro' }]];
    await import('../src/script');
    (w.insightliteQ as unknown as { push(c: unknown[]): void }).push(['track', 'late']);
    await w.insightlite!.flush();
    expect(h.posts.flat().map((e) => e.name ?? e.type)).toEqual(['pageview', 'early', 'late']);
  });

  it('selectors stay short and tell siblings apart', () => {
    document.body.innerHTML = '<ul><li>a</li><li><span class="x y z">b</span></li></ul>';
    expect(selectorOf(document.querySelector('span')!)).toBe('ul > li:nth-of-type(2) > span.x.y');
  });
});
