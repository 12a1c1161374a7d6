/**
 * Generated news snippets in AG News's four topics (World, Sports, Business, SciTech) for the
 * text-classification demo: two or three sentences from shared templates filled with topic words, with
 * some words borrowed from other topics so that no single word gives the class away.
 */
import type { Rng } from '../../util/rng.js';

export const TOPICS = ['World', 'Sports', 'Business', 'SciTech'] as const;
export type Topic = (typeof TOPICS)[number];

interface Vocab {
  who: string[];
  what: string[];
  did: string[];
  where: string[];
}

const VOCAB: Record<Topic, Vocab> = {
  World: {
    who: ['the prime minister', 'rebel leaders', 'the UN envoy', 'foreign ministers', 'the president', 'opposition parties', 'peacekeepers', 'the embassy'],
    what: ['a ceasefire', 'the election results', 'new sanctions', 'border talks', 'the peace deal', 'refugee aid', 'the treaty', 'a state visit'],
    did: ['rejected', 'welcomed', 'called for', 'condemned', 'signed', 'postponed', 'negotiated'],
    where: ['in Geneva', 'near the border', 'in the capital', 'at the summit', 'in Nairobi', 'across the region'],
  },
  Sports: {
    who: ['the coach', 'the striker', 'the home side', 'the champions', 'the rookie pitcher', 'the captain', 'the visitors', 'the goalkeeper'],
    what: ['the title', 'a late goal', 'the final round', 'the series', 'a hat-trick', 'the record', 'the playoff spot', 'the cup'],
    did: ['won', 'clinched', 'lost', 'defended', 'scored', 'missed', 'secured'],
    where: ['at the stadium', 'in overtime', 'on home turf', 'in the second half', 'at the open', 'before a sellout crowd'],
  },
  Business: {
    who: ['shareholders', 'the chief executive', 'the central bank', 'analysts', 'the retailer', 'investors', 'the airline', 'regulators'],
    what: ['quarterly profit', 'the merger', 'interest rates', 'the share price', 'a takeover bid', 'oil prices', 'job cuts', 'the earnings forecast'],
    did: ['raised', 'cut', 'approved', 'reported', 'beat', 'warned about', 'announced'],
    where: ['on Wall Street', 'in early trading', 'for the quarter', 'in a filing', 'across markets', 'after the close'],
  },
  SciTech: {
    who: ['researchers', 'the software maker', 'astronomers', 'engineers', 'the chip maker', 'scientists', 'the space agency', 'hackers'],
    what: ['a new processor', 'the genome', 'a security flaw', 'the probe', 'a search engine', 'the operating system', 'broadband access', 'a vaccine trial'],
    did: ['unveiled', 'discovered', 'patched', 'launched', 'tested', 'released', 'mapped'],
    where: ['in the lab', 'in orbit', 'on the web', 'at the conference', 'in a new study', 'for mobile phones'],
  },
};

type Slot = keyof Vocab | 'day' | 'source';
const TEMPLATES: ((w: (slot: Slot) => string) => string)[] = [
  (w) => `${cap(w('who'))} ${w('did')} ${w('what')} ${w('where')}.`,
  (w) => `${cap(w('what'))} was ${w('did')} by ${w('who')} on ${w('day')}.`,
  (w) => `${cap(w('who'))} said ${w('what')} could be ${w('did')} ${w('where')}.`,
  (w) => `${cap(w('where'))}, ${w('who')} ${w('did')} ${w('what')}, ${w('source')} reported.`,
];
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const SOURCES = ['Reuters', 'AP', 'officials', 'a spokesman', 'the newspaper', 'sources'];

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** One snippet of `topic`: a headline-like first sentence and one or two more. */
export function newsText(rng: Rng, topic: Topic, borrow = 0.15): string {
  // each topic slot takes a word of another topic with probability `borrow`
  const w = (slot: Slot): string => {
    const list = slot === 'day' ? DAYS : slot === 'source' ? SOURCES : VOCAB[rng.next() < borrow ? TOPICS[rng.int(TOPICS.length)] : topic][slot];
    return list[rng.int(list.length)];
  };
  const sentences: string[] = [];
  const n = 2 + rng.int(2);
  for (let i = 0; i < n; i++) sentences.push(TEMPLATES[rng.int(TEMPLATES.length)](w));
  return `${sentences.join(' ')}\n`;
}
