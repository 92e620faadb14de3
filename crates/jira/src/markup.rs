//! Jira wiki markup → Markdown, for descriptions and comments.
//!
//! No maintained Rust crate converts Jira wiki markup, so this is a small converter for the
//! constructs people actually type: headings, bold / italic / strike, `{{monospace}}`,
//! `{code}` / `{noformat}` blocks, `{quote}` and `bq.`, links, mentions, images, lists,
//! tables, `{color}` / `{panel}` wrappers (dropped), backslash escapes and CRLF line ends.
//! Anything it does not recognise is kept as written. It never panics and runs in linear
//! time apart from a bounded nesting of inline markup.

/// Inline markup nested deeper than this is copied as written (keeps recursion bounded on
/// adversarial input such as `*_*_*_…`).
const MAX_INLINE_DEPTH: usize = 8;

/// Macro parameters (`{code:…}`, `{color:…}`) longer than this are not macros.
const MAX_MACRO_PARAMS: usize = 256;

/// Converts Jira wiki markup to (GitHub-flavoured) Markdown.
///
/// ```
/// use jira::wiki_to_markdown;
/// assert_eq!(wiki_to_markdown("h2. Steps\r\n* *bold* and _it_"), "## Steps\n- **bold** and *it*");
/// assert_eq!(wiki_to_markdown("see [docs|https://example.com]"), "see [docs](https://example.com)");
/// assert_eq!(wiki_to_markdown("{code:rust}\nfn main() {}\n{code}"), "```rust\nfn main() {}\n```");
/// assert_eq!(wiki_to_markdown("hi [~accountid:5b10a2844c20165700ede21g]"), "hi @accountid:5b10a2844c20165700ede21g");
/// ```
pub fn wiki_to_markdown(s: &str) -> String {
    let text = s.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len() + text.len() / 8 + 16);
    render_blocks(&text, &mut out, 0);
    let trimmed_len = out.trim_end().len();
    out.truncate(trimmed_len);
    out
}

/// A top-level piece of a wiki text.
enum Block<'a> {
    /// Ordinary lines.
    Text(&'a str),
    /// `{code[:lang]}…{code}` or `{noformat}…{noformat}`: copied verbatim.
    Code { lang: &'a str, body: &'a str },
    /// `{quote}…{quote}`.
    Quote(&'a str),
}

/// The block macros recognised, by opening prefix.
const BLOCK_MACROS: [&str; 3] = ["{code", "{noformat", "{quote}"];

fn render_blocks(text: &str, out: &mut String, depth: usize) {
    let mut after_block = false;
    for block in split_blocks(text) {
        match block {
            Block::Text(t) => {
                let t = if after_block {
                    t.strip_prefix('\n').unwrap_or(t)
                } else {
                    t
                };
                render_lines(t, out);
                after_block = false;
            }
            Block::Code { lang, body } => {
                start_block(out);
                let body = body.strip_prefix('\n').unwrap_or(body);
                let body = body.strip_suffix('\n').unwrap_or(body);
                let fence = if body.contains("```") { "~~~~" } else { "```" };
                out.push_str(fence);
                out.push_str(lang);
                out.push('\n');
                out.push_str(body);
                out.push('\n');
                out.push_str(fence);
                out.push('\n');
                after_block = true;
            }
            Block::Quote(inner) => {
                start_block(out);
                let mut rendered = String::new();
                if depth < MAX_INLINE_DEPTH {
                    render_blocks(inner.trim_matches('\n'), &mut rendered, depth + 1);
                } else {
                    rendered.push_str(inner.trim_matches('\n'));
                }
                for line in rendered.trim_end().split('\n') {
                    out.push('>');
                    if !line.is_empty() {
                        out.push(' ');
                        out.push_str(line);
                    }
                    out.push('\n');
                }
                after_block = true;
            }
        }
    }
}

/// Makes sure a block starts on a line of its own.
fn start_block(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn split_blocks(text: &str) -> Vec<Block<'_>> {
    let mut blocks = Vec::new();
    // Absolute start of the pending text, and where to look for the next macro from.
    let mut text_start = 0;
    let mut search_from = 0;
    // Next occurrence of each macro at or after `search_from` (cached so that many
    // malformed macros do not make the scan quadratic).
    let mut next: [Option<usize>; 3] = [None; 3];
    let mut valid_from = [usize::MAX; 3];
    loop {
        for (k, m) in BLOCK_MACROS.iter().enumerate() {
            let stale = valid_from.get(k).is_none_or(|v| *v > search_from)
                || next
                    .get(k)
                    .copied()
                    .flatten()
                    .is_some_and(|p| p < search_from);
            if stale {
                let found = text
                    .get(search_from..)
                    .and_then(|r| r.find(m))
                    .map(|i| i + search_from);
                if let (Some(slot), Some(valid)) = (next.get_mut(k), valid_from.get_mut(k)) {
                    *slot = found;
                    *valid = search_from;
                }
            }
        }
        let earliest = next
            .iter()
            .zip(BLOCK_MACROS)
            .filter_map(|(p, m)| p.map(|p| (p, m)))
            .min_by_key(|(p, _)| *p);
        let Some((start, mac)) = earliest else {
            if let Some(rest) = text.get(text_start..).filter(|r| !r.is_empty()) {
                blocks.push(Block::Text(rest));
            }
            return blocks;
        };
        let from_macro = text.get(start..).unwrap_or("");
        match parse_block(from_macro, mac) {
            Some((block, consumed)) => {
                if let Some(before) = text.get(text_start..start).filter(|b| !b.is_empty()) {
                    blocks.push(Block::Text(before));
                }
                blocks.push(block);
                text_start = start + consumed;
                search_from = text_start;
            }
            // Not a well-formed macro: keep it as text and look further on.
            None => search_from = start + 1,
        }
    }
}

/// Parses a block macro at the start of `s`; returns it and the bytes consumed.
fn parse_block<'a>(s: &'a str, mac: &str) -> Option<(Block<'a>, usize)> {
    if mac == "{quote}" {
        let inner_start = mac.len();
        let inner = s.get(inner_start..)?;
        return Some(match inner.find("{quote}") {
            Some(end) => (
                Block::Quote(inner.get(..end)?),
                inner_start + end + "{quote}".len(),
            ),
            None => (Block::Quote(inner), s.len()),
        });
    }
    // `{code}`, `{code:java}`, `{code:title=x.java|borderStyle=solid}`, `{noformat}`…
    let after_name = s.get(mac.len()..)?;
    let params_end = match after_name.chars().next()? {
        '}' => 0,
        // Parameters are short and on the macro's line.
        ':' => after_name
            .char_indices()
            .take(MAX_MACRO_PARAMS)
            .find(|(_, c)| *c == '}' || *c == '\n')
            .filter(|(_, c)| *c == '}')
            .map(|(i, _)| i)?,
        _ => return None,
    };
    let params = after_name.get(1..params_end).unwrap_or("");
    let lang = if mac == "{code" {
        params
            .split('|')
            .next()
            .filter(|p| {
                !p.contains('=')
                    && p.chars()
                        .all(|c| c.is_alphanumeric() || "+#-_.".contains(c))
            })
            .unwrap_or("")
    } else {
        ""
    };
    let body_start = mac.len() + params_end + 1;
    let body_all = s.get(body_start..)?;
    let closing = format!("{mac}}}");
    Some(match body_all.find(&closing) {
        Some(end) => (
            Block::Code {
                lang,
                body: body_all.get(..end)?,
            },
            body_start + end + closing.len(),
        ),
        None => (
            Block::Code {
                lang,
                body: body_all,
            },
            s.len(),
        ),
    })
}

/// Renders ordinary lines: headings, lists, quotes, rules, tables, then inline markup.
fn render_lines(text: &str, out: &mut String) {
    let mut in_table = false;
    let mut first = true;
    for line in text.split('\n') {
        if !first {
            out.push('\n');
        }
        first = false;
        let lead = line.trim_start();
        // `||` starts a header row, `|` a body row.
        let row = lead
            .strip_prefix("||")
            .map(|rest| (rest, "||", true))
            .or_else(|| lead.strip_prefix('|').map(|rest| (rest, "|", false)));
        if let Some((rest, separator, header)) = row {
            let cells = split_cells(rest.trim_end().trim_end_matches(separator), separator);
            push_row(&cells, out);
            // Markdown needs the `---` line after a header, or before the first body row of a
            // table without one.
            if header || !in_table {
                out.push('\n');
                out.push('|');
                for _ in &cells {
                    out.push_str(" --- |");
                }
            }
            in_table = true;
            continue;
        }
        in_table = false;
        if let Some((level, rest)) = heading(lead) {
            for _ in 0..level {
                out.push('#');
            }
            out.push(' ');
            inline(rest.trim(), out, 0);
            continue;
        }
        if let Some(rest) = lead.strip_prefix("bq. ") {
            out.push_str("> ");
            inline(rest, out, 0);
            continue;
        }
        if lead.len() >= 4 && lead.trim_end().chars().all(|c| c == '-') {
            out.push_str("---");
            continue;
        }
        if let Some((markers, rest)) = list_item(lead) {
            let mut indent = 0;
            let mut chars = markers.chars().peekable();
            while let Some(m) = chars.next() {
                if chars.peek().is_some() {
                    indent += if m == '#' { 3 } else { 2 };
                } else {
                    for _ in 0..indent {
                        out.push(' ');
                    }
                    out.push_str(if m == '#' { "1. " } else { "- " });
                }
            }
            inline(rest, out, 0);
            continue;
        }
        inline(line, out, 0);
    }
}

fn push_row(cells: &[String], out: &mut String) {
    out.push('|');
    for cell in cells {
        out.push(' ');
        out.push_str(cell);
        out.push_str(" |");
    }
}

/// Splits a table row on `sep`, ignoring separators inside `[…]` and `{…}`; converts each
/// cell's inline markup.
fn split_cells(row: &str, sep: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut bracket = 0usize;
    let mut brace = 0usize;
    let mut current = String::new();
    let mut rest = row;
    while let Some(c) = rest.chars().next() {
        if bracket == 0 && brace == 0 && rest.starts_with(sep) {
            cells.push(current.trim().to_owned());
            current.clear();
            rest = rest.get(sep.len()..).unwrap_or("");
            continue;
        }
        match c {
            '[' => bracket += 1,
            ']' => bracket = bracket.saturating_sub(1),
            '{' => brace += 1,
            '}' => brace = brace.saturating_sub(1),
            _ => {}
        }
        current.push(c);
        rest = rest.get(c.len_utf8()..).unwrap_or("");
    }
    cells.push(current.trim().to_owned());
    cells
        .into_iter()
        .map(|cell| {
            let mut converted = String::with_capacity(cell.len());
            inline(&cell, &mut converted, 0);
            converted.replace('|', "\\|")
        })
        .collect()
}

/// `h1. ` … `h6. ` → (level, rest).
fn heading(line: &str) -> Option<(usize, &str)> {
    let mut chars = line.chars();
    if chars.next()? != 'h' {
        return None;
    }
    let level = chars.next()?.to_digit(10)?;
    if !(1..=6).contains(&level) || chars.next()? != '.' {
        return None;
    }
    let rest = chars.as_str();
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((level as usize, rest))
}

/// `* `, `** `, `# `, `#* `, `- ` → (markers, rest).
fn list_item(line: &str) -> Option<(&str, &str)> {
    let end = line
        .char_indices()
        .find(|(_, c)| !matches!(c, '*' | '#' | '-'))
        .map(|(i, _)| i)?;
    let (markers, rest) = line.split_at_checked(end)?;
    if markers.is_empty() || !rest.starts_with(' ') {
        return None;
    }
    if markers.contains('-') && markers != "-" {
        return None;
    }
    Some((markers, rest.trim_start()))
}

/// Characters that carry meaning in Markdown and are escaped when Jira escaped them.
const MARKDOWN_SPECIAL: &str = "\\`*_[]|~<>";

/// The emphasis markers: `*bold*`, `_italic_`, `-strike-`, `+inserted+`, `^sup^`, `~sub~`.
const EMPHASIS: [char; 6] = ['*', '_', '-', '+', '^', '~'];

/// Where closing markers can be, computed once per line so that finding a closer is a
/// binary search (keeps a line full of unmatched markers linear).
struct Closers {
    /// Per [`EMPHASIS`] marker: indices that may close it (follow a non-space and are not
    /// followed by a letter, a digit or the same marker).
    emphasis: [Vec<usize>; 6],
    /// Indices of `}}`.
    monospace: Vec<usize>,
}

impl Closers {
    fn of(chars: &[char]) -> Self {
        let mut emphasis: [Vec<usize>; 6] = Default::default();
        let mut monospace = Vec::new();
        for (j, &c) in chars.iter().enumerate() {
            if c == '}' && chars.get(j + 1) == Some(&'}') {
                monospace.push(j);
            }
            let Some(k) = EMPHASIS.iter().position(|m| *m == c) else {
                continue;
            };
            let after_text = j
                .checked_sub(1)
                .and_then(|p| chars.get(p))
                .is_some_and(|p| !p.is_whitespace());
            let before_boundary = chars
                .get(j + 1)
                .is_none_or(|a| !a.is_alphanumeric() && *a != c);
            if after_text
                && before_boundary
                && let Some(list) = emphasis.get_mut(k)
            {
                list.push(j);
            }
        }
        Self {
            emphasis,
            monospace,
        }
    }

    /// The first index in `list` at or after `from`.
    fn first_from(list: &[usize], from: usize) -> Option<usize> {
        list.get(list.partition_point(|&j| j < from)).copied()
    }
}

/// Converts inline markup of one line (or table cell) into `out`.
fn inline(s: &str, out: &mut String, depth: usize) {
    let chars: Vec<char> = s.chars().collect();
    let closers = Closers::of(&chars);
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        match c {
            '\\' => match next {
                Some('\\') => {
                    out.push('\n');
                    i += 2;
                }
                Some(n) if !n.is_alphanumeric() && !n.is_whitespace() => {
                    if MARKDOWN_SPECIAL.contains(n) {
                        out.push('\\');
                    }
                    out.push(n);
                    i += 2;
                }
                _ => {
                    out.push('\\');
                    i += 1;
                }
            },
            '`' => {
                out.push_str("\\`");
                i += 1;
            }
            'h' if starts_with(&chars, i, "http://") || starts_with(&chars, i, "https://") => {
                // A bare URL: copied verbatim so `_` or `-` inside it stay as they are.
                while let Some(&u) = chars.get(i) {
                    if u.is_whitespace() || u == ']' || u == '|' {
                        break;
                    }
                    out.push(u);
                    i += 1;
                }
            }
            '{' if next == Some('{') => match Closers::first_from(&closers.monospace, i + 2) {
                Some(end) if end > i + 2 => {
                    let inner: String = chars.get(i + 2..end).unwrap_or_default().iter().collect();
                    if inner.contains('`') {
                        out.push_str("`` ");
                        out.push_str(&inner);
                        out.push_str(" ``");
                    } else {
                        out.push('`');
                        out.push_str(&inner);
                        out.push('`');
                    }
                    i = end + 2;
                }
                _ => {
                    out.push_str("{{");
                    i += 2;
                }
            },
            '{' => match wrapper_macro_end(&chars, i) {
                Some(end) => i = end + 1,
                None => {
                    out.push('{');
                    i += 1;
                }
            },
            '[' => match link(&chars, i, out, depth) {
                Some(end) => i = end + 1,
                None => {
                    out.push('[');
                    i += 1;
                }
            },
            '!' => match image(&chars, i, out) {
                Some(end) => i = end + 1,
                None => {
                    out.push('!');
                    i += 1;
                }
            },
            _ if depth < MAX_INLINE_DEPTH && EMPHASIS.contains(&c) => {
                match emphasis_end(&closers, c, i, prev, next) {
                    Some(end) => {
                        let inner: String =
                            chars.get(i + 1..end).unwrap_or_default().iter().collect();
                        let (open, close) = match c {
                            '*' => ("**", "**"),
                            '_' => ("*", "*"),
                            '-' => ("~~", "~~"),
                            '^' => ("<sup>", "</sup>"),
                            '~' => ("<sub>", "</sub>"),
                            _ => ("", ""), // `+inserted+`: Markdown has no underline
                        };
                        out.push_str(open);
                        inline(&inner, out, depth + 1);
                        out.push_str(close);
                        i = end + 1;
                    }
                    None => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
}

fn starts_with(chars: &[char], at: usize, pat: &str) -> bool {
    (at..)
        .zip(pat.chars())
        .all(|(k, p)| chars.get(k) == Some(&p))
}

/// For an emphasis marker `c` at `i`, the index of its closing marker: the opening must not
/// follow a letter, a digit or the same marker and must be followed by a non-space; the
/// closing must follow a non-space and not be followed by a letter or digit (Jira's rule).
fn emphasis_end(
    closers: &Closers,
    c: char,
    i: usize,
    prev: Option<char>,
    next: Option<char>,
) -> Option<usize> {
    if prev.is_some_and(|p| p.is_alphanumeric() || p == c) {
        return None;
    }
    let n = next?;
    if n.is_whitespace() || n == c {
        return None;
    }
    let k = EMPHASIS.iter().position(|m| *m == c)?;
    Closers::first_from(closers.emphasis.get(k)?, i + 2)
}

/// `{color:red}`, `{color}`, `{panel:title=x}`, `{panel}`, `{anchor:x}`… are dropped: returns
/// the index of the closing `}` when the macro at `i` is one of them.
fn wrapper_macro_end(chars: &[char], i: usize) -> Option<usize> {
    const WRAPPERS: [&str; 6] = ["color", "panel", "anchor", "section", "column", "tip"];
    let name_start = i + 1;
    let name_end = (name_start..chars.len().min(name_start + 16))
        .find(|&k| !chars.get(k).is_some_and(|c| c.is_ascii_alphabetic()))?;
    let name: String = chars.get(name_start..name_end)?.iter().collect();
    if !WRAPPERS.contains(&name.as_str()) {
        return None;
    }
    match chars.get(name_end)? {
        '}' => Some(name_end),
        ':' => (name_end..chars.len().min(name_end + MAX_MACRO_PARAMS))
            .find(|&k| chars.get(k) == Some(&'}')),
        _ => None,
    }
}

/// `[text|url]`, `[url]`, `[~user]`, `[~accountid:…]`, `[alias|~accountid:…]`, `[^file]`,
/// `[#anchor]`. Writes the Markdown and returns the index of `]`.
fn link(chars: &[char], i: usize, out: &mut String, depth: usize) -> Option<usize> {
    let end = (i + 1..chars.len()).find(|&k| matches!(chars.get(k), Some(']') | Some('[')))?;
    if chars.get(end) != Some(&']') || end == i + 1 {
        return None;
    }
    let content: String = chars.get(i + 1..end)?.iter().collect();
    if let Some(user) = content.strip_prefix('~') {
        out.push('@');
        out.push_str(user);
        return Some(end);
    }
    if let Some((label, target)) = content.split_once('|') {
        let target = target.trim();
        if target.starts_with('~') {
            out.push('@');
            out.push_str(label.trim());
        } else if target.starts_with('#') || target.starts_with('^') {
            inline(label, out, depth + 1);
        } else {
            out.push('[');
            inline(label, out, depth + 1);
            out.push_str("](");
            out.push_str(&target.replace(' ', "%20").replace(')', "%29"));
            out.push(')');
        }
        return Some(end);
    }
    if content.contains("://") || content.starts_with("mailto:") {
        out.push('<');
        out.push_str(content.trim());
        out.push('>');
        return Some(end);
    }
    if let Some(name) = content
        .strip_prefix('^')
        .or_else(|| content.strip_prefix('#'))
    {
        out.push_str(name);
        return Some(end);
    }
    None
}

/// `!image.png!`, `!image.png|thumbnail!`, `!https://…/x.png!` → `![](…)`.
fn image(chars: &[char], i: usize, out: &mut String) -> Option<usize> {
    let end = (i + 1..chars.len())
        .find(|&k| chars.get(k).is_none_or(|c| *c == '!' || c.is_whitespace()))?;
    if chars.get(end) != Some(&'!') || end == i + 1 {
        return None;
    }
    let content: String = chars.get(i + 1..end)?.iter().collect();
    let src = content.split('|').next().unwrap_or("");
    if !(src.contains('.') || src.contains("://")) || src.ends_with('.') {
        return None;
    }
    out.push_str("![](");
    out.push_str(src);
    out.push(')');
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::wiki_to_markdown as md;

    /// Checks each (wiki markup, Markdown) pair.
    fn converts(cases: &[(&str, &str)]) {
        for (wiki, markdown) in cases {
            assert_eq!(md(wiki), *markdown, "{wiki:?}");
        }
    }

    #[test]
    fn headings_and_rules() {
        converts(&[
            ("h1. Title\nh3. Sub", "# Title\n### Sub"),
            ("h7. not a heading", "h7. not a heading"),
            ("a\n----\nb", "a\n---\nb"),
        ]);
    }

    #[test]
    fn emphasis_follows_jiras_word_rules() {
        converts(&[
            ("*bold* _it_ -gone- +ins+", "**bold** *it* ~~gone~~ ins"),
            ("x^2^ and H~2~O", "x^2^ and H~2~O"),
            ("a ^sup^ b ~sub~", "a <sup>sup</sup> b <sub>sub</sub>"),
            (
                "snake_case_name and 2019-01-07 - a - b",
                "snake_case_name and 2019-01-07 - a - b",
            ),
            ("5 * 3 * 2", "5 * 3 * 2"),
            ("*bold _and it_*", "**bold *and it***"),
            ("**not bold**", "**not bold**"),
        ]);
    }

    #[test]
    fn monospace_and_code_blocks() {
        converts(&[
            ("use {{cargo test}} now", "use `cargo test` now"),
            ("{{a`b}}", "`` a`b ``"),
            (
                "before\r\n{code:python}\r\ndef f():\r\n    return *x*\r\n{code}\r\nafter",
                "before\n```python\ndef f():\n    return *x*\n```\nafter",
            ),
            (
                "{noformat}\n*raw* [x|y]\n{noformat}",
                "```\n*raw* [x|y]\n```",
            ),
            (
                "{code:title=Foo.java|borderStyle=solid}\nclass Foo {}\n{code}",
                "```\nclass Foo {}\n```",
            ),
            ("{code}unterminated *x*", "```\nunterminated *x*\n```"),
            ("{codex} stays", "{codex} stays"),
        ]);
    }

    #[test]
    fn links_mentions_images() {
        converts(&[
            (
                "[Google|http://www.google.com]",
                "[Google](http://www.google.com)",
            ),
            ("[http://www.google.com]", "<http://www.google.com>"),
            ("[~admin] hi", "@admin hi"),
            (
                "[~accountid:619a4432ebce470067f20384]",
                "@accountid:619a4432ebce470067f20384",
            ),
            ("[Winston Smith|~accountid:abc]", "@Winston Smith"),
            ("[a *b*|https://x.io/a b]", "[a **b**](https://x.io/a%20b)"),
            ("[^log.txt] and [#top]", "log.txt and top"),
            ("[not a link]", "[not a link]"),
            (
                "!screen.png! and !http://x.io/a.png|thumbnail!",
                "![](screen.png) and ![](http://x.io/a.png)",
            ),
            ("Fixed ASAP! Really!", "Fixed ASAP! Really!"),
            (
                "see https://x.io/a_b_c/-d- ok",
                "see https://x.io/a_b_c/-d- ok",
            ),
        ]);
    }

    #[test]
    fn lists_quotes_tables() {
        converts(&[
            (
                "* one\n** two\n# first\n## second\n#* mixed\n- dash",
                "- one\n  - two\n1. first\n   1. second\n   - mixed\n- dash",
            ),
            ("*bold* line", "**bold** line"),
            ("bq. quoted *text*", "> quoted **text**"),
            (
                "{quote}\nSomeone said\nsomething\n{quote}\nafter",
                "> Someone said\n> something\nafter",
            ),
            (
                "||a||b||\n|1|[x|http://y.io]|",
                "| a | b |\n| --- | --- |\n| 1 | [x](http://y.io) |",
            ),
        ]);
    }

    #[test]
    fn escapes_wrappers_and_line_ends() {
        converts(&[
            ("ASAP\\!", "ASAP!"),
            ("a \\*not bold\\*", "a \\*not bold\\*"),
            ("line\\\\break", "line\nbreak"),
            ("{color:red}red{color} {panel:title=T}in{panel}", "red in"),
            ("a\r\nb\rc  \r\n\r\n", "a\nb\nc"),
            ("`tick`", "\\`tick\\`"),
            ("", ""),
        ]);
    }

    #[test]
    fn a_mixed_crlf_comment_converts_fully() {
        let wiki = "Repro on *staging* with _both_ {{workers}} up.\r\n\r\n{noformat}\r\nERROR pool exhausted\r\n{noformat}\r\n\r\n{code:sql}\r\nSELECT 1;\r\n{code}\r\n\r\nRunbook: [https://runbooks.example.org/db] or [the wiki|https://wiki.example.org/db].\r\n\r\n{quote}\r\nCustomer: it is down again\r\n{quote}";
        let expected = "Repro on **staging** with *both* `workers` up.\n\n```\nERROR pool exhausted\n```\n\n```sql\nSELECT 1;\n```\n\nRunbook: <https://runbooks.example.org/db> or [the wiki](https://wiki.example.org/db).\n\n> Customer: it is down again";
        converts(&[(wiki, expected)]);
    }

    #[test]
    fn pathological_input_terminates() {
        let nested = "*_".repeat(5_000);
        let _ = md(&nested);
        let brackets = "[".repeat(10_000) + &"]".repeat(10_000);
        let _ = md(&brackets);
        let quotes = "{quote}".repeat(1_000);
        let _ = md(&quotes);
    }
}
