//! The `decode_splits` property, shared by the fuzz target
//! (`fuzz/fuzz_targets/decode_splits.rs`) and `tests/decoder.rs` (a
//! quickcheck property and a replay of `fuzz/seeds/decode_splits`):
//! arbitrary block splits, refeeds and ends for the sans-IO decoder. A log
//! (the input's bytes, or a generated log damaged as the input says) is fed
//! while it grows, with the input's growth steps, `Block`/`Last` choices and
//! final end (`Final` or `NextFile`). The decoder never panics and
//! terminates, its events are in file order, and they equal a one-shot read
//! with the same end (with `Final`, also `build_from_bytes`). The helpers
//! that drive a decoder are public for the other decoder tests.

use blocklog::decode::{Decoder, End, Input, Step};
use blocklog::format::BLOCK_SIZE;
use blocklog::{Event, ReaderOptions, RecoveryMode, Resync, WriterOptions};
use bytes::Bytes;

/// What a decoder run produced: events, then the error that ended it.
#[derive(Clone, PartialEq)]
pub struct Decoded {
    /// Every event, in order.
    pub events: Vec<Event>,
    /// The error that ended the run, as text.
    pub error: Option<String>,
}

/// Events in short (payloads as lengths), for failure messages.
pub fn describe(events: &[Event]) -> String {
    let s: Vec<String> = events
        .iter()
        .map(|e| match e {
            Event::Record(r) => format!("record[{}, {})+{}", r.offset, r.end, r.payload.len()),
            Event::Dropped(d) => format!("dropped {d}"),
            Event::Benign(b) => format!("benign {}@{:?}", b.kind.as_str(), b.range),
            Event::Stopped(_) => "stopped".to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    s.join(", ")
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] error: {:?}", describe(&self.events), self.error)
    }
}

/// Steps `d` until it needs input, says "not yet", is done or fails.
/// Returns the step that stopped it (`None` on an error).
pub fn run_until_input(d: &mut Decoder, out: &mut Decoded, budget: &mut usize) -> Option<Step> {
    loop {
        *budget = budget
            .checked_sub(1)
            .expect("the decoder does not terminate");
        match d.step() {
            Ok(Step::Event(e)) => out.events.push(e),
            Ok(s) => return Some(s),
            Err(e) => {
                out.error = Some(e.to_string());
                return None;
            }
        }
    }
}

/// Feeds the decoder the bytes of `log[..visible]` at its `next_offset`:
/// a whole `Block` when more is visible after it (or, when `as_last`, as
/// `Last`), else `Last` with `end`.
pub fn feed_visible(d: &mut Decoder, log: &[u8], visible: usize, end: End, as_last: bool) {
    if d.wants_head() {
        d.feed_head(&log[..visible.min(11)]).unwrap();
    }
    let at = (d.next_offset() as usize).min(visible);
    let to = (at + BLOCK_SIZE).min(visible);
    let data = Bytes::copy_from_slice(&log[at..to]);
    // A whole block may always be fed as `Last` with `MayGrow` (the caller
    // has not read further yet); with another end, only at the end.
    let as_last = as_last && (end == End::MayGrow || to == visible);
    let input = if to - at == BLOCK_SIZE && (to < visible || end == End::MayGrow) && !as_last {
        Input::Block(data)
    } else {
        Input::Last(data, end)
    };
    d.feed(input).expect("a well-formed feed");
}

/// A one-shot read of the whole log through the decoder, ending with `end`.
pub fn decode_once(opts: &ReaderOptions, log: &[u8], end: End) -> Decoded {
    let mut d = opts.clone().decoder();
    let mut out = Decoded {
        events: vec![],
        error: None,
    };
    let mut budget = 16 * (log.len() + BLOCK_SIZE);
    while let Some(step) = run_until_input(&mut d, &mut out, &mut budget) {
        match step {
            Step::NeedInput => feed_visible(&mut d, log, log.len(), end, false),
            Step::Done => break,
            other => panic!("one-shot read with {end:?} gave {other:?}"),
        }
    }
    out
}

/// The log fed while it grows: `grow` gives the next increment (at least
/// 1), `as_last` whether a whole block is fed as `Last`. Ends with `end`
/// once everything is visible. Also checks that a `NotYet` never lets
/// `next_offset` pass the visible bytes, and that `next_offset` never goes
/// back (no block is parsed again but the one that grew).
pub fn decode_growing(
    opts: &ReaderOptions,
    log: &[u8],
    end: End,
    mut grow: impl FnMut() -> usize,
    mut as_last: impl FnMut() -> bool,
) -> Decoded {
    let mut d = opts.clone().decoder();
    let mut out = Decoded {
        events: vec![],
        error: None,
    };
    let mut visible = grow().min(log.len());
    let mut budget = 64 * (log.len() + BLOCK_SIZE) + 1000;
    let mut last_offset = d.next_offset();
    while let Some(step) = run_until_input(&mut d, &mut out, &mut budget) {
        let now = if visible == log.len() {
            end
        } else {
            End::MayGrow
        };
        match step {
            Step::NeedInput => {
                // No byte is fed twice except the current block's, again
                // once it has grown: the decoder never goes back (R16).
                let at = d.next_offset();
                assert!(
                    at >= last_offset,
                    "the decoder went back from {last_offset} to {at}"
                );
                last_offset = at;
                feed_visible(&mut d, log, visible, now, as_last())
            }
            Step::NotYet => {
                assert_eq!(now, End::MayGrow, "NotYet after a final feed");
                // (Starting past the visible bytes, it waits for its first block.)
                assert!(
                    d.next_offset() as usize
                        <= visible.max(opts.start_offset() as usize + BLOCK_SIZE),
                    "NotYet at {} with {visible} bytes visible",
                    d.next_offset()
                );
                visible = (visible + grow().max(1)).min(log.len());
            }
            Step::Done => {
                assert_ne!(now, End::MayGrow, "Done while the log may grow");
                break;
            }
            Step::Event(_) => unreachable!(),
        }
    }
    out
}

/// The events of a one-shot `build_from_bytes` read.
pub fn one_shot(opts: &ReaderOptions, log: &[u8]) -> Decoded {
    let mut r = opts.clone().build_from_bytes(Bytes::copy_from_slice(log));
    let mut out = Decoded {
        events: vec![],
        error: None,
    };
    loop {
        match r.next_event() {
            Ok(Some(e)) => out.events.push(e),
            Ok(None) => break,
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        }
    }
    out
}

/// The fuzz target's input decoder: little-endian reads, zeros when out.
struct InputBytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl InputBytes<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }
}

/// Builds the case an input describes: options, log bytes, growth
/// steps, whole-block-as-`Last` choices, the final end.
#[allow(clippy::type_complexity)]
pub fn case(data: &[u8]) -> (ReaderOptions, Vec<u8>, Vec<usize>, Vec<bool>, End) {
    let mut inp = InputBytes { data, at: 0 };
    let flags = inp.byte();
    let mode = RecoveryMode::ALL[usize::from(flags & 3)];
    let resync = if flags & 4 != 0 {
        Resync::Scan
    } else {
        Resync::Block
    };
    let end = match (flags >> 3) & 3 {
        0 | 1 => End::Final,
        _ => End::NextFile,
    };
    let generated = flags & 0x20 != 0;
    let recyclable = flags & 0x40 != 0;
    let mut opts = ReaderOptions::new().mode(mode).resync(resync);
    if flags & 0x80 != 0 {
        opts = opts.log_number(3);
    }
    let nsteps = usize::from(inp.byte() % 16) + 1;
    let steps: Vec<usize> = (0..nsteps)
        .map(|_| match inp.byte() {
            0..=99 => usize::from(inp.byte() % 8) + 1,
            100..=199 => usize::from(inp.u16() % 2048) + 1,
            _ => usize::from(inp.u16()) + 1,
        })
        .collect();
    let lasts = inp.byte();
    let lasts: Vec<bool> = (0..8).map(|i| lasts >> i & 1 == 1).collect();
    let initial = inp.u16();
    if initial & 1 == 1 {
        opts = opts.initial_offset(u64::from(initial >> 1) * 3);
    }
    let rest = &data[inp.at.min(data.len())..];
    let log = if generated {
        let wo = if recyclable {
            WriterOptions::new().recyclable(3)
        } else {
            WriterOptions::new()
        };
        let mut w = wo.build(Vec::new());
        let mut lens = rest.chunks(2);
        // Record lengths from the input, up to 16 records (0xff ends them).
        for (i, c) in lens.by_ref().take(16).enumerate() {
            if c[0] == 0xff {
                break;
            }
            let len =
                usize::from(c[0]) * (usize::from(c.get(1).copied().unwrap_or(1)) % 64 + 1) * 3;
            w.add_record(&vec![i as u8; len]).unwrap();
        }
        let mut log = w.into_inner().unwrap();
        // Then damage from the rest: (kind, position, length) triples.
        for c in lens.collect::<Vec<_>>().concat().chunks(4).take(6) {
            if log.is_empty() || c.len() < 4 {
                break;
            }
            let at = (usize::from(c[1]) << 8 | usize::from(c[2])) * 7 % log.len();
            match c[0] % 5 {
                0 => log[at] ^= 1 << (c[3] % 8),
                1 => log.truncate(at),
                2 => {
                    let e = (at + usize::from(c[3]) * 16).min(log.len());
                    log[at..e].fill(0);
                }
                3 => log
                    .splice(at..at, vec![c[3]; usize::from(c[3] % 17) + 1])
                    .for_each(drop),
                _ => {
                    let e = (at + usize::from(c[3])).min(log.len());
                    log[at..e].fill(c[3]);
                }
            }
        }
        log
    } else {
        rest.to_vec()
    };
    (opts, log, steps, lasts, end)
}

/// The start and end of an event's bytes (`None` for a stop).
pub fn span(e: &Event) -> Option<(u64, u64)> {
    match e {
        Event::Record(r) => Some((r.offset, r.end)),
        Event::Dropped(d) => Some((d.range.start, d.range.end)),
        Event::Benign(b) => Some((b.range.start, b.range.end)),
        _ => None,
    }
}

/// The property; panics with what failed.
pub fn check(data: &[u8]) {
    let (opts, log, mut steps, lasts, end) = case(data);
    // At most about two thousand feeds per log.
    for s in &mut steps {
        *s = (*s).max(log.len() / 2000);
    }
    let mut i = 0;
    let mut j = 0;
    let got = decode_growing(
        &opts,
        &log,
        end,
        || {
            i += 1;
            steps[(i - 1) % steps.len()]
        },
        || {
            j += 1;
            lasts[(j - 1) % lasts.len()]
        },
    );
    // Events in file order, none overlapping.
    let mut last_end = 0;
    for e in &got.events {
        if let Some((s, e2)) = span(e) {
            assert!(s >= last_end, "events out of order: {:?}", got.events);
            assert!(s <= e2 && e2 <= log.len() as u64, "event outside the log");
            last_end = e2;
        }
    }
    let want = decode_once(&opts, &log, end);
    assert_eq!(
        got,
        want,
        "growing vs one-shot {end:?}, {opts:?}, {} bytes",
        log.len()
    );
    if end == End::Final {
        assert_eq!(got, one_shot(&opts, &log), "growing vs build_from_bytes");
    }
}
