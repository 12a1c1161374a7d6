/**
 * What the real-file corpus (docs/corpus.md) is made of: the Debian packages it reads, and the rule that gives
 * each of their files a type group and a content type from its location and name alone (never from libmagic,
 * which is the baseline the detector is measured against). The rule is a pure function of the path, the
 * first bytes only telling an ELF file or a script's interpreter apart where the location says "program".
 */

/**
 * The packages, installed first (`apt-get install --no-install-recommends …`), so that two machines build the
 * same corpus. Only files that dpkg says these packages own are read.
 */
export const CORPUS_PACKAGES: readonly string[] = [
  // the base system: programs, libraries, configuration, man pages, documentation
  'adduser', 'apt', 'base-files', 'bash', 'bash-completion', 'bc', 'binutils', 'bsdutils', 'bzip2', 'bzip2-doc',
  'ca-certificates', 'coreutils', 'curl', 'dash', 'debconf', 'debianutils', 'diffutils', 'dpkg', 'e2fsprogs', 'ed',
  'file', 'findutils', 'gawk', 'git', 'git-man', 'gnupg', 'grep', 'groff-base', 'gzip', 'info', 'iproute2', 'jq',
  'less', 'login', 'logrotate', 'lsof', 'make', 'man-db', 'manpages', 'manpages-dev', 'nano', 'netbase',
  'openssh-client', 'openssl', 'passwd', 'patch', 'procps', 'psmisc', 'sed', 'sqlite3', 'strace', 'tar', 'tmux',
  'tzdata', 'util-linux', 'wget', 'xz-utils', 'zstd',
  // source code and scripts
  'libpython3.11-stdlib', 'python3-yaml', 'python3-requests', 'python3-urllib3', 'python3-jinja2', 'python3-markdown',
  'python3-docutils', 'python3-pygments', 'perl-modules-5.36', 'libjson-perl', 'libwww-perl', 'autoconf', 'automake',
  'm4', 'libtool', 'cmake-data', 'libruby3.1', 'ruby-rack', 'lua-penlight', 'lua-ldoc', 'php-pear', 'tcl8.6', 'tcllib',
  'vim-runtime', 'libjs-jquery', 'libjs-underscore', 'libjs-jquery-ui', 'libjs-bootstrap4', 'node-lodash',
  'node-commander', 'node-semver', 'node-yargs', 'libc6-dev', 'linux-libc-dev', 'libssl-dev', 'zlib1g-dev',
  'libsqlite3-dev', 'libxml2-dev', 'libstdc++-12-dev', 'librust-serde-dev', 'librust-libc-dev', 'librust-regex-dev',
  'librust-log-dev', 'librust-rand-dev', 'golang-github-spf13-cobra-dev', 'golang-github-stretchr-testify-dev',
  'libcommons-lang3-java', 'junit4',
  // markup and data
  'debian-reference-en', 'docbook-xml', 'sgml-data', 'xml-core', 'iso-codes', 'shared-mime-info', 'gdal-data',
  'proj-data', 'distro-info-data', 'publicsuffix', 'poppler-data', 'nginx-common', 'apache2-data',
  'desktop-file-utils', 'xdg-utils', 'systemd',
  // pictures and fonts
  'adwaita-icon-theme', 'hicolor-icon-theme', 'tango-icon-theme', 'desktop-base', 'fonts-dejavu-core', 'fonts-liberation',
  // sound
  'sound-theme-freedesktop', 'alsa-utils', 'gnome-audio', 'sound-icons',
];

/** Type groups, in the order tables list them. */
export const GROUPS = ['documentation', 'code', 'configuration', 'markup', 'executable', 'image', 'audio', 'binary', 'compressed'] as const;
export type Group = (typeof GROUPS)[number];

/** What the corpus keeps of a source file. */
export interface Rule {
  group: Group;
  /** Content type (a lower-case name, e.g. `python`, `troff`, `elf`). */
  type: string;
  /**
   * How the source becomes the corpus file: as it is; gunzipped (man pages, changelogs); an image drawn as the
   * paper's 32×32 BMP; sound cut into the paper's one-second 8 kHz 8-bit WAV clips.
   */
  as: 'copy' | 'gunzip' | 'bmp' | 'wav';
}

const CODE_EXT: Record<string, string> = {
  py: 'python', pl: 'perl', pm: 'perl', pod: 'perl', t: 'perl', sh: 'shell', bash: 'shell', zsh: 'shell',
  js: 'javascript', mjs: 'javascript', cjs: 'javascript', ts: 'typescript', mts: 'typescript', cts: 'typescript',
  h: 'c', c: 'c', hpp: 'cpp', hh: 'cpp', hxx: 'cpp', cc: 'cpp', cpp: 'cpp', cxx: 'cpp', tcc: 'cpp', rb: 'ruby',
  lua: 'lua', php: 'php', tcl: 'tcl', tk: 'tcl', vim: 'vim', m4: 'm4', ac: 'm4', cmake: 'cmake', mk: 'makefile',
  am: 'makefile', go: 'go', rs: 'rust', java: 'java', el: 'elisp', awk: 'awk', sed: 'sed', sql: 'sql', rake: 'ruby',
  gemspec: 'ruby', ps1: 'powershell', bat: 'batch', cmd: 'batch',
};
const MARKUP_EXT: Record<string, string> = {
  xml: 'xml', xsd: 'xml', xsl: 'xml', xslt: 'xml', dtd: 'dtd', ent: 'dtd', mod: 'dtd', rng: 'xml', html: 'html',
  htm: 'html', xhtml: 'html', css: 'css', json: 'json', geojson: 'json', yaml: 'yaml', yml: 'yaml', csv: 'csv',
  tsv: 'csv', svg: 'svg', toml: 'toml', md: 'markdown', markdown: 'markdown', rst: 'rst', tex: 'tex', sgml: 'sgml',
};
const CONFIG_EXT: Record<string, string> = {
  conf: 'conf', cfg: 'conf', cnf: 'conf', ini: 'ini', desktop: 'ini', service: 'ini', socket: 'ini', timer: 'ini',
  target: 'ini', mount: 'ini', path: 'ini', slice: 'ini', network: 'ini', link: 'ini', netdev: 'ini', rules: 'conf',
  preset: 'conf', list: 'conf', sources: 'conf', keytab: 'conf',
};
const IMAGE_EXT = new Set(['png', 'jpg', 'jpeg', 'gif', 'bmp']);
const SOUND_EXT = new Set(['wav', 'oga', 'ogg', 'flac']);
const COMPRESSED_EXT: Record<string, string> = {
  gz: 'gzip', xz: 'xz', zst: 'zstd', bz2: 'bzip2', zip: 'zip', jar: 'zip', png: 'png', jpg: 'jpeg', jpeg: 'jpeg',
  gif: 'gif', oga: 'ogg', ogg: 'ogg', svgz: 'gzip',
};
const BINARY_EXT: Record<string, string> = {
  ttf: 'ttf', otf: 'otf', pdf: 'pdf', db: 'sqlite', sqlite: 'sqlite', mo: 'mo', gmo: 'mo', cache: 'binary',
  bin: 'binary', cmap: 'binary',
};
/** Names without an extension that are documentation wherever they are. */
const DOC_NAMES = /^(readme|news|changes|changelog|authors|thanks|todo|copying|copyright|license|licence|install|history|bugs|faq|notice|credits|contributors|maintainers|hacking)([._-].*)?$/i;
/** Interpreters named on a `#!` line. */
const SHEBANG: [RegExp, string][] = [
  [/\b(ba|da|k|z)?sh\b/, 'shell'], [/\bpython[0-9.]*\b/, 'python'], [/\bperl\b/, 'perl'], [/\bruby\b/, 'ruby'],
  [/\b(g|m)?awk\b/, 'awk'], [/\btclsh|wish\b/, 'tcl'], [/\blua[0-9.]*\b/, 'lua'], [/\bphp\b/, 'php'], [/\bnode(js)?\b/, 'javascript'],
  [/\bsed\b/, 'sed'], [/\bmake\b/, 'makefile'],
];

export const extOf = (name: string): string => {
  const i = name.lastIndexOf('.');
  return i > 0 ? name.slice(i + 1).toLowerCase() : '';
};

/** Prose in a markup language (Markdown, reStructuredText, TeX) is documentation; the rest is markup. */
const markupGroup = (ext: string): Group => (['md', 'markdown', 'rst', 'tex'].includes(ext) ? 'documentation' : 'markup');

const isElf = (head: Uint8Array) => head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;

/** `#!/usr/bin/env python3` → python; null when the first line names no interpreter we know. */
export function shebangType(head: Uint8Array): string | null {
  if (head[0] !== 0x23 || head[1] !== 0x21) return null;
  let end = head.indexOf(10);
  if (end < 0) end = head.length;
  const line = Buffer.from(head.subarray(2, end)).toString('latin1');
  for (const [re, t] of SHEBANG) if (re.test(line)) return t;
  return null;
}

/**
 * The rule for one source file (`path` as dpkg lists it; `head` its first bytes). Null: not in the corpus
 * (no type the rule knows, or a kind of file the corpus leaves out: translations' .mo catalogues stay, gzip
 * members of other kinds than text are kept as compressed files only).
 */
export function ruleOf(path: string, head: Uint8Array): Rule | null {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (!name || name.startsWith('.')) return null;
  const ext = extOf(name);
  const inDir = (d: string) => path.startsWith(d);

  // compressed text: man pages, info manuals and documentation are gunzipped; the .gz file itself is kept too
  // (as a compressed file) by the caller
  if (ext === 'gz') {
    const inner = name.slice(0, -3), innerExt = extOf(inner);
    if (inDir('/usr/share/man/')) return { group: 'documentation', type: 'troff', as: 'gunzip' };
    if (inDir('/usr/share/info/')) return { group: 'documentation', type: 'texinfo', as: 'gunzip' };
    if (inDir('/usr/share/doc/')) {
      if (MARKUP_EXT[innerExt]) return { group: markupGroup(innerExt), type: MARKUP_EXT[innerExt], as: 'gunzip' };
      if (CODE_EXT[innerExt]) return { group: 'code', type: CODE_EXT[innerExt], as: 'gunzip' };
      if (!innerExt || innerExt === 'txt' || DOC_NAMES.test(inner) || /^(debian|gz|\d+)$/.test(innerExt)) return { group: 'documentation', type: 'txt', as: 'gunzip' };
    }
    return { group: 'compressed', type: 'gzip', as: 'copy' };
  }

  if (IMAGE_EXT.has(ext) && (inDir('/usr/share/icons/') || inDir('/usr/share/pixmaps/') || inDir('/usr/share/desktop-base/') || inDir('/usr/share/doc/') || inDir('/usr/share/backgrounds/') || inDir('/usr/share/images/'))) {
    return { group: 'image', type: 'bmp', as: 'bmp' };
  }
  if (SOUND_EXT.has(ext) && inDir('/usr/share/sounds/')) return { group: 'audio', type: 'wav', as: 'wav' };
  if (COMPRESSED_EXT[ext]) return { group: 'compressed', type: COMPRESSED_EXT[ext], as: 'copy' };
  if (BINARY_EXT[ext]) return { group: 'binary', type: BINARY_EXT[ext], as: 'copy' };

  // programs: ELF files by their first four bytes, scripts by their #! line
  if (inDir('/usr/bin/') || inDir('/usr/sbin/') || inDir('/bin/') || inDir('/sbin/') || inDir('/usr/lib/') || inDir('/usr/libexec/')) {
    if (isElf(head)) return { group: 'executable', type: 'elf', as: 'copy' };
    const sb = shebangType(head);
    if (sb && !CODE_EXT[ext]) return { group: 'code', type: sb, as: 'copy' };
  }
  if (inDir('/usr/share/zoneinfo/')) return ext ? null : { group: 'binary', type: 'tzif', as: 'copy' };

  if (inDir('/etc/')) {
    if (CODE_EXT[ext] && ext !== 'list') return { group: 'code', type: CODE_EXT[ext], as: 'copy' };
    if (MARKUP_EXT[ext]) return { group: markupGroup(ext), type: MARKUP_EXT[ext], as: 'copy' };
    return { group: 'configuration', type: CONFIG_EXT[ext] ?? 'conf', as: 'copy' };
  }
  if (inDir('/usr/share/bash-completion/completions/')) return { group: 'code', type: 'shell', as: 'copy' };
  if (inDir('/usr/include/c++/') && !ext) return { group: 'code', type: 'cpp', as: 'copy' };
  if (name === 'Makefile' || name === 'makefile' || name === 'GNUmakefile') return { group: 'code', type: 'makefile', as: 'copy' };
  if (name === 'CMakeLists.txt') return { group: 'code', type: 'cmake', as: 'copy' };
  if (CODE_EXT[ext]) return { group: 'code', type: CODE_EXT[ext], as: 'copy' };
  if (inDir('/usr/share/doc/') && (!ext || ext === 'txt' || DOC_NAMES.test(name))) return { group: 'documentation', type: 'txt', as: 'copy' };
  if (ext === 'txt' || DOC_NAMES.test(name)) return { group: 'documentation', type: 'txt', as: 'copy' };
  if (MARKUP_EXT[ext]) return { group: markupGroup(ext), type: MARKUP_EXT[ext], as: 'copy' };
  if (ext === 'po' || ext === 'pot') return { group: 'documentation', type: 'po', as: 'copy' };
  if (CONFIG_EXT[ext] && ext !== 'cache') return { group: 'configuration', type: CONFIG_EXT[ext], as: 'copy' };
  if (inDir('/usr/share/man/')) return { group: 'documentation', type: 'troff', as: 'copy' };
  if (ext === 'pem' || ext === 'crt' || ext === 'asc') return { group: 'configuration', type: ext === 'asc' ? 'asc' : 'pem', as: 'copy' };
  if (ext === 'diff' || ext === 'patch') return { group: 'code', type: 'diff', as: 'copy' };
  return null;
}
