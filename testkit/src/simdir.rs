//! A simulated crash of a WAL directory: records the ordered stream of
//! everything a [`Wal`](blocklog::wal::Wal) run does to its directory
//! (directory operations through the observer of
//! [`WalOptions::observe_dir`], writes and fdatasyncs through the sinks of
//! [`WalOptions::wrap_files`]) while the run works on a real directory,
//! then produces the directory states a power loss after any step could
//! leave.
//!
//! The durability model (`docs/reliability.md`, "Directory crash model"):
//!
//! - **File data** (writes and `set_len`, per file, i.e. per inode): what
//!   precedes the file's last fdatasync survives. The operations after it
//!   survive as a prefix, in order; the first one not kept, when it is a
//!   write, may be torn: a prefix of its bytes reached the disk and the
//!   rest is absent (the file ends there) or zeros to the write's end (the
//!   size was updated, the data was not), cut at a byte or at a 512-byte
//!   sector boundary. The single-file simulator's model
//!   ([`simfile`](crate::simfile)), per file.
//! - **Directory entries** (create, remove): what precedes the last
//!   directory fsync survives. For each name, the entry operations after it
//!   survive as a prefix, in order, independently of other names: a
//!   created file may be absent, a removed file may be back (with whatever
//!   its data model leaves of it).
//!
//! Files are identified by inode, so a name removed and created again is
//! two files. [`SimDir::states`] enumerates the product of those choices at
//! one crash point, or a seeded selection of it when it is larger than the
//! budget.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Seek, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use blocklog::wal::dir::{self, DirOp};
use blocklog::wal::{WalOptions, WalSink};
use blocklog::SyncData;

use crate::rng::Rng;
use crate::simfile::{apply, torn_image, Fill};

/// Sector size of the torn-write model.
pub const SECTOR: usize = 512;

/// A directory entry's name: a WAL file (`NNNNNN.log`) or a free file
/// (`NNNNNN.free`: a purged file kept for recycling, on the purge branch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Name {
    /// WAL file `number`.
    Log(u64),
    /// Free file `number`.
    Free(u64),
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Log(n) => f.write_str(&dir::file_name(*n)),
            Name::Free(n) => write!(f, "{n:06}.free"),
        }
    }
}

/// One recorded step of a WAL run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Directory entry `number` created, for a new file `inode`.
    Create {
        /// The file number.
        number: u64,
        /// The new file.
        inode: u64,
    },
    /// Existing file `number` opened for writing (no change on disk).
    Open {
        /// The file number.
        number: u64,
    },
    /// File `inode` (named `number`) cut or extended to `len` bytes.
    SetLen {
        /// The file number.
        number: u64,
        /// The file.
        inode: u64,
        /// The new length.
        len: u64,
    },
    /// Directory entry `number` removed.
    Remove {
        /// The file number.
        number: u64,
    },
    /// The directory fsynced: every entry operation before is durable.
    SyncDir,
    /// Entry `from` renamed to `to` (atomic; durable with the next
    /// directory fsync: until then a crash leaves the old name).
    Rename {
        /// The old name.
        from: Name,
        /// The new name (replaced if it exists).
        to: Name,
    },
    /// Entry `name` removed (a free file's; WAL files use `Remove`).
    RemoveName {
        /// The name.
        name: Name,
    },
    /// `data` written at `offset` of file `inode` (named `number`).
    Write {
        /// The file number.
        number: u64,
        /// The file.
        inode: u64,
        /// Offset of the first byte.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// File `inode` fdatasynced: every write and `set_len` before is durable.
    Sync {
        /// The file number.
        number: u64,
        /// The file.
        inode: u64,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Create { number, .. } => write!(f, "create {number}"),
            Step::Open { number } => write!(f, "open {number}"),
            Step::SetLen { number, len, .. } => write!(f, "set_len {number} {len}"),
            Step::Remove { number } => write!(f, "remove {number}"),
            Step::SyncDir => f.write_str("sync_dir"),
            Step::Rename { from, to } => write!(f, "rename {from} {to}"),
            Step::RemoveName { name } => write!(f, "remove {name}"),
            Step::Write {
                number,
                offset,
                data,
                ..
            } => write!(
                f,
                "write {number} [{offset}, {})",
                *offset + data.len() as u64
            ),
            Step::Sync { number, .. } => write!(f, "fdatasync {number}"),
        }
    }
}

#[derive(Debug, Default)]
struct Rec {
    steps: Vec<Step>,
    /// Name -> inode, as the running process sees the directory.
    live: BTreeMap<Name, u64>,
    next_inode: u64,
    /// A process crash armed: the next write reaches the file with at most
    /// this many bytes, then every call fails.
    kill_after: Option<usize>,
    /// The simulated process is dead: every write and sync fails.
    dead: bool,
    /// How unsynced directory entry operations survive a crash.
    order: EntryOrder,
}

/// How the directory entry operations made since the last directory fsync
/// survive a crash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EntryOrder {
    /// Per name, a prefix of its operations, independently of other names
    /// (what POSIX promises: nothing, until the directory is fsynced).
    #[default]
    PerName,
    /// A prefix of all of them, in order (a file system whose metadata
    /// journal commits operations in order, as ext4 and XFS do in practice).
    Ordered,
}

/// The recorder of one WAL run (shared by the observer and the sinks).
/// Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct SimDir(Arc<Mutex<Rec>>);

/// One directory state a crash can leave: the WAL files and their
/// contents, and how it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashState {
    /// WAL file number -> contents.
    pub files: BTreeMap<u64, Vec<u8>>,
    /// Free file number -> contents (recycling; empty otherwise).
    pub free: BTreeMap<u64, Vec<u8>>,
    /// What survived, for failure messages.
    pub desc: String,
}

impl CrashState {
    /// Writes the files into `dir` (which should be empty).
    pub fn materialise(&self, dir: &Path) -> io::Result<()> {
        for (&n, data) in &self.files {
            fs::write(dir::path_of(dir, n), data)?;
        }
        for (&n, data) in &self.free {
            fs::write(dir.join(Name::Free(n).to_string()), data)?;
        }
        Ok(())
    }
}

/// Statistics of [`SimDir::states`] over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sizes {
    /// The size of the full product of choices at the point.
    pub product: u128,
    /// States returned.
    pub returned: usize,
}

/// The choices for one file's contents at a crash point.
#[derive(Debug, Clone)]
struct FileChoices {
    inode: u64,
    /// Each possible contents, with a short description.
    options: Vec<(Vec<u8>, String)>,
}

/// The choices for a group of names at a crash point: the entries they
/// hold after each prefix of the pending operations on them. Names are
/// grouped when a pending rename joins them (a rename is atomic: its two
/// names change together), else each name is its own group.
#[derive(Debug, Clone)]
struct NameChoices {
    names: Vec<Name>,
    options: Vec<BTreeMap<Name, u64>>,
}

impl SimDir {
    /// A recorder with no history, for a run starting on an empty directory.
    pub fn new() -> SimDir {
        SimDir::default()
    }

    fn lock(&self) -> MutexGuard<'_, Rec> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `opts` with the recorder attached: every directory operation and
    /// every write and sync of the WAL's files is recorded.
    ///
    /// A directory operation the model does not know (a [`DirOp`] added
    /// later, such as a rename) fails the operation with an error naming
    /// it: the model must be extended before such a run can be simulated.
    pub fn attach(&self, opts: WalOptions) -> WalOptions {
        let observe = self.clone();
        let wrap = self.clone();
        opts.observe_dir(move |op| observe.on_dir_op(op))
            .wrap_files(move |number, file| wrap.wrap(number, file))
    }

    /// [`attach`](SimDir::attach), with each recording sink wrapped once
    /// more by `outer` (given the file number): a sink that holds a call
    /// ([`hold`](crate::hold)) stops it before it is recorded, so a test
    /// can order a group commit's steps deterministically.
    pub fn attach_with(
        &self,
        opts: WalOptions,
        outer: impl Fn(u64, Box<dyn WalSink>) -> Box<dyn WalSink> + Send + Sync + 'static,
    ) -> WalOptions {
        let observe = self.clone();
        let wrap = self.clone();
        opts.observe_dir(move |op| observe.on_dir_op(op))
            .wrap_files(move |number, file| outer(number, wrap.wrap(number, file)))
    }

    fn on_dir_op(&self, op: DirOp) -> io::Result<()> {
        let mut r = self.lock();
        let step = match op {
            DirOp::Create(number) => {
                r.next_inode += 1;
                let inode = r.next_inode;
                r.live.insert(Name::Log(number), inode);
                Step::Create { number, inode }
            }
            DirOp::Open(number) => Step::Open { number },
            DirOp::SetLen(number, len) => {
                let inode = inode_of(&r.live, number)?;
                Step::SetLen { number, inode, len }
            }
            DirOp::Remove(number) => {
                r.live.remove(&Name::Log(number));
                Step::Remove { number }
            }
            DirOp::SyncDir => Step::SyncDir,
            // Purge, recycling and preallocation (wal-purge).
            DirOp::Free(n) => return Self::rename_in(&mut r, Name::Log(n), Name::Free(n)),
            DirOp::Reuse { free, number } => {
                return Self::rename_in(&mut r, Name::Free(free), Name::Log(number))
            }
            DirOp::RemoveFree(n) => {
                r.live.remove(&Name::Free(n));
                Step::RemoveName {
                    name: Name::Free(n),
                }
            }
            DirOp::Preallocate(n, len) => return Self::preallocate_in(&mut r, n, len),
            other => {
                return Err(io::Error::other(format!(
                    "simdir: directory operation {other:?} is not modelled"
                )))
            }
        };
        r.steps.push(step);
        Ok(())
    }

    /// Records a rename (for the directory operations of recycling): the
    /// file named `from` is named `to` from now on.
    pub fn rename(&self, from: Name, to: Name) -> io::Result<()> {
        let mut r = self.lock();
        Self::rename_in(&mut r, from, to)
    }

    fn rename_in(r: &mut Rec, from: Name, to: Name) -> io::Result<()> {
        let inode = r.live.remove(&from).ok_or_else(|| {
            io::Error::other(format!("simdir: rename of {from}, which does not exist"))
        })?;
        r.live.insert(to, inode);
        r.steps.push(Step::Rename { from, to });
        Ok(())
    }

    /// Records the removal of entry `name` (a free file's).
    pub fn remove_name(&self, name: Name) {
        let mut r = self.lock();
        r.live.remove(&name);
        r.steps.push(Step::RemoveName { name });
    }

    /// Records preallocation: `len` zeros written to WAL file `number`
    /// from offset 0 (through the file itself, not its sink), durable with
    /// the file's next fdatasync like any write.
    pub fn preallocate(&self, number: u64, len: u64) -> io::Result<()> {
        let mut r = self.lock();
        Self::preallocate_in(&mut r, number, len)
    }

    fn preallocate_in(r: &mut Rec, number: u64, len: u64) -> io::Result<()> {
        let inode = inode_of(&r.live, number)?;
        r.steps.push(Step::Write {
            number,
            inode,
            offset: 0,
            data: vec![0; len as usize],
        });
        Ok(())
    }

    fn wrap(&self, number: u64, mut file: File) -> Box<dyn WalSink> {
        let inode = self.lock().live.get(&Name::Log(number)).copied();
        let pos = file.stream_position();
        match (inode, pos) {
            (Some(inode), Ok(pos)) => Box::new(RecSink {
                file,
                rec: self.clone(),
                number,
                inode,
                pos,
                broken: None,
            }),
            (inode, pos) => Box::new(RecSink {
                file,
                rec: self.clone(),
                number,
                inode: 0,
                pos: 0,
                broken: Some(format!(
                    "simdir: file {number} opened with no known inode ({inode:?}) or position ({pos:?})"
                )),
            }),
        }
    }

    /// Sets how unsynced directory entry operations survive ([`EntryOrder`];
    /// per name by default).
    pub fn entry_order(&self, order: EntryOrder) {
        self.lock().order = order;
    }

    /// Arms a process crash in the middle of a write: the next write call
    /// reaches the file with at most `bytes` of its bytes (a short write),
    /// then every write and sync fails with EIO (the WAL is poisoned), as
    /// if the process died there; nothing is lost from the page cache.
    /// [`revive`](SimDir::revive) lets the next run write again.
    pub fn kill_in_next_write(&self, bytes: usize) {
        self.lock().kill_after = Some(bytes);
    }

    /// Undoes [`kill_in_next_write`](SimDir::kill_in_next_write): a new
    /// process may write.
    pub fn revive(&self) {
        let mut r = self.lock();
        r.kill_after = None;
        r.dead = false;
    }

    /// Number of steps recorded so far: a crash point index (a crash
    /// "at point k" happens after the first `k` steps).
    pub fn len(&self) -> usize {
        self.lock().steps.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the recorded steps.
    pub fn steps(&self) -> Vec<Step> {
        self.lock().steps.clone()
    }

    /// The directory a crash after the first `k` steps leaves when
    /// everything recorded reached the disk (the process died, the machine
    /// did not).
    pub fn everything(&self, k: usize) -> CrashState {
        let steps = &self.lock().steps[..k];
        let mut names: BTreeMap<Name, u64> = BTreeMap::new();
        let mut data: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        for s in steps {
            if let Some(op) = EntryOp::of(s) {
                op.apply(&mut names);
            }
            match s {
                Step::SetLen { inode, len, .. } => {
                    data.entry(*inode).or_default().resize(*len as usize, 0);
                }
                Step::Write {
                    inode,
                    offset,
                    data: d,
                    ..
                } => apply(data.entry(*inode).or_default(), *offset, d),
                _ => {}
            }
        }
        let contents: BTreeMap<u64, &Vec<u8>> = data.iter().map(|(&i, d)| (i, d)).collect();
        split(
            &names,
            |inode| {
                contents
                    .get(&inode)
                    .map(|d| (*d).clone())
                    .unwrap_or_default()
            },
            "everything".into(),
        )
    }

    /// The directory states a power loss after the first `k` steps can
    /// leave (the model above): all of them when there are at most
    /// `budget`, else the two extremes (nothing pending survived;
    /// everything did) and a selection drawn with `rng`, without
    /// duplicates. Also returns the size of the full product.
    pub fn states(&self, k: usize, budget: usize, rng: &mut Rng) -> (Vec<CrashState>, Sizes) {
        let (steps, order) = {
            let r = self.lock();
            (r.steps[..k].to_vec(), r.order)
        };
        let (names, files) = choices(&steps, order, rng);
        let mut product: u128 = 1;
        for n in &names {
            product = product.saturating_mul(n.options.len() as u128);
        }
        for f in &files {
            product = product.saturating_mul(f.options.len() as u128);
        }
        let dims: Vec<usize> = names
            .iter()
            .map(|n| n.options.len())
            .chain(files.iter().map(|f| f.options.len()))
            .collect();
        let mut picks: Vec<Vec<usize>> = Vec::new();
        let budget = budget.max(2);
        if product <= budget as u128 {
            let mut idx = vec![0usize; dims.len()];
            'all: loop {
                picks.push(idx.clone());
                for d in 0..dims.len() {
                    idx[d] += 1;
                    if idx[d] < dims[d] {
                        continue 'all;
                    }
                    idx[d] = 0;
                }
                break;
            }
        } else {
            let mut seen = BTreeSet::new();
            let none = vec![0usize; dims.len()];
            let all: Vec<usize> = dims.iter().map(|&d| d - 1).collect();
            for p in [none, all] {
                if seen.insert(p.clone()) {
                    picks.push(p);
                }
            }
            let mut tries = 0;
            while picks.len() < budget && tries < budget * 20 {
                tries += 1;
                let p: Vec<usize> = dims.iter().map(|&d| rng.index(d)).collect();
                if seen.insert(p.clone()) {
                    picks.push(p);
                }
            }
        }
        let states: Vec<CrashState> = picks.iter().map(|p| build(&names, &files, p)).collect();
        let mut unique: Vec<CrashState> = Vec::with_capacity(states.len());
        for s in states {
            if !unique.iter().any(|u| u.files == s.files) {
                unique.push(s);
            }
        }
        let sizes = Sizes {
            product,
            returned: unique.len(),
        };
        (unique, sizes)
    }
}

fn inode_of(live: &BTreeMap<Name, u64>, number: u64) -> io::Result<u64> {
    live.get(&Name::Log(number))
        .copied()
        .ok_or_else(|| io::Error::other(format!("simdir: file {number} changed but never created")))
}

/// The state of directory `names` (name -> inode) with each inode's contents.
fn split(
    names: &BTreeMap<Name, u64>,
    mut contents: impl FnMut(u64) -> Vec<u8>,
    desc: String,
) -> CrashState {
    let mut files = BTreeMap::new();
    let mut free = BTreeMap::new();
    for (name, &inode) in names {
        match name {
            Name::Log(n) => files.insert(*n, contents(inode)),
            Name::Free(n) => free.insert(*n, contents(inode)),
        };
    }
    CrashState { files, free, desc }
}

/// A directory entry operation, as the model applies it.
#[derive(Debug, Clone, Copy)]
enum EntryOp {
    Set(Name, Option<u64>),
    Rename(Name, Name),
}

impl EntryOp {
    fn of(step: &Step) -> Option<EntryOp> {
        Some(match step {
            Step::Create { number, inode } => EntryOp::Set(Name::Log(*number), Some(*inode)),
            Step::Remove { number } => EntryOp::Set(Name::Log(*number), None),
            Step::RemoveName { name } => EntryOp::Set(*name, None),
            Step::Rename { from, to } => EntryOp::Rename(*from, *to),
            _ => return None,
        })
    }

    fn names(&self) -> Vec<Name> {
        match self {
            EntryOp::Set(n, _) => vec![*n],
            EntryOp::Rename(a, b) => vec![*a, *b],
        }
    }

    fn apply(&self, names: &mut BTreeMap<Name, u64>) {
        match *self {
            EntryOp::Set(n, Some(inode)) => {
                names.insert(n, inode);
            }
            EntryOp::Set(n, None) => {
                names.remove(&n);
            }
            EntryOp::Rename(from, to) => {
                if let Some(inode) = names.remove(&from) {
                    names.insert(to, inode);
                }
            }
        }
    }
}

/// Builds one state from one pick of every name group's and file's choices.
fn build(names: &[NameChoices], files: &[FileChoices], pick: &[usize]) -> CrashState {
    let (np, fp) = pick.split_at(names.len());
    let contents: BTreeMap<u64, (&Vec<u8>, &String)> = files
        .iter()
        .zip(fp)
        .map(|(f, &i)| (f.inode, (&f.options[i].0, &f.options[i].1)))
        .collect();
    let mut dir = BTreeMap::new();
    for (n, &i) in names.iter().zip(np) {
        dir.extend(n.options[i].iter().map(|(k, v)| (*k, *v)));
    }
    let mut desc = Vec::new();
    for n in names {
        for name in &n.names {
            match dir.get(name) {
                None => desc.push(format!("{name}: absent")),
                Some(inode) => desc.push(format!(
                    "{name}: {}",
                    contents.get(inode).map_or("?", |c| c.1.as_str())
                )),
            }
        }
    }
    split(
        &dir,
        |inode| {
            contents
                .get(&inode)
                .map(|c| c.0.clone())
                .unwrap_or_default()
        },
        desc.join("; "),
    )
}

/// The choices of every name group and every file reachable from one,
/// after `steps`.
fn choices(
    steps: &[Step],
    order: EntryOrder,
    rng: &mut Rng,
) -> (Vec<NameChoices>, Vec<FileChoices>) {
    // Directory entries: durable through the last directory fsync.
    let last_dir_sync = steps.iter().rposition(|s| *s == Step::SyncDir);
    let mut durable: BTreeMap<Name, u64> = BTreeMap::new();
    let mut pending: Vec<EntryOp> = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let Some(op) = EntryOp::of(s) else { continue };
        if last_dir_sync.is_some_and(|d| i < d) {
            op.apply(&mut durable);
        } else {
            pending.push(op);
        }
    }
    // Group the names a pending rename joins (union-find over names).
    let mut group: BTreeMap<Name, Name> = BTreeMap::new();
    fn root(group: &mut BTreeMap<Name, Name>, n: Name) -> Name {
        let p = *group.entry(n).or_insert(n);
        if p == n {
            return n;
        }
        let r = root(group, p);
        group.insert(n, r);
        r
    }
    for n in durable.keys() {
        root(&mut group, *n);
    }
    // Ordered: every pending operation in one group (a global prefix).
    let first = pending.first().map(|op| op.names()[0]);
    for op in &pending {
        let mut ns = op.names();
        if let (EntryOrder::Ordered, Some(f)) = (order, first) {
            ns.insert(0, f);
        }
        let r0 = root(&mut group, ns[0]);
        for n in &ns[1..] {
            let r = root(&mut group, *n);
            if r != r0 {
                group.insert(r, r0);
            }
        }
    }
    let all: Vec<Name> = group.keys().copied().collect();
    let mut members: BTreeMap<Name, Vec<Name>> = BTreeMap::new();
    for n in all {
        let r = root(&mut group, n);
        members.entry(r).or_default().push(n);
    }
    let names: Vec<NameChoices> = members
        .into_iter()
        .map(|(r, ns)| {
            let mut state: BTreeMap<Name, u64> = durable
                .iter()
                .filter(|(n, _)| ns.contains(n))
                .map(|(n, i)| (*n, *i))
                .collect();
            let mut options = vec![state.clone()];
            for op in &pending {
                if root(&mut group, op.names()[0]) == r {
                    op.apply(&mut state);
                    options.push(state.clone());
                }
            }
            options.dedup();
            NameChoices { names: ns, options }
        })
        .collect();
    let reachable: BTreeSet<u64> = names
        .iter()
        .flat_map(|n| n.options.iter().flat_map(|o| o.values().copied()))
        .collect();
    let files = reachable
        .into_iter()
        .map(|inode| file_choices(steps, inode, rng))
        .collect();
    (names, files)
}

/// A file's data operation: a write or a `set_len`.
enum DataOp<'a> {
    Write(u64, &'a [u8]),
    SetLen(u64),
}

/// The choices of one file's contents after `steps`.
fn file_choices(steps: &[Step], inode: u64, rng: &mut Rng) -> FileChoices {
    let mut ops: Vec<DataOp> = Vec::new();
    let mut synced = 0usize;
    for s in steps {
        match s {
            Step::Write {
                inode: i,
                offset,
                data,
                ..
            } if *i == inode => ops.push(DataOp::Write(*offset, data)),
            Step::SetLen { inode: i, len, .. } if *i == inode => ops.push(DataOp::SetLen(*len)),
            Step::Sync { inode: i, .. } if *i == inode => synced = ops.len(),
            _ => {}
        }
    }
    let mut image = Vec::new();
    for op in &ops[..synced] {
        run(&mut image, op);
    }
    let mut options = vec![(image.clone(), format!("synced {} B", image.len()))];
    for (j, op) in ops[synced..].iter().enumerate() {
        if let DataOp::Write(offset, data) = op {
            for (torn, fill) in tears(*offset, data.len(), rng) {
                let t = torn_image(&image, *offset, data, torn, fill);
                let d = format!(
                    "synced + {j} pending ops + write at {offset} torn at {torn}/{} ({})",
                    data.len(),
                    fill.name()
                );
                options.push((t, d));
            }
        }
        run(&mut image, op);
        options.push((
            image.clone(),
            format!("synced + {} pending ops ({} B)", j + 1, image.len()),
        ));
    }
    let mut unique: Vec<(Vec<u8>, String)> = Vec::new();
    for o in options {
        if !unique.iter().any(|u| u.0 == o.0) {
            unique.push(o);
        }
    }
    FileChoices {
        inode,
        options: unique,
    }
}

fn run(image: &mut Vec<u8>, op: &DataOp) {
    match op {
        DataOp::Write(offset, data) => apply(image, *offset, data),
        DataOp::SetLen(len) => image.resize(*len as usize, 0),
    }
}

/// Where a write of `len` bytes at `offset` is torn: cut after 1 byte, a
/// header's 7 bytes, half, all but one, and a random byte (the rest
/// absent); at the sector boundaries inside it (at most four: the first
/// two and the last two), with the rest absent or zero; and wholly zeros
/// (size updated, no data).
fn tears(offset: u64, len: usize, rng: &mut Rng) -> Vec<(usize, Fill)> {
    if len == 0 {
        return Vec::new();
    }
    let mut out: Vec<(usize, Fill)> = Vec::new();
    let mut cuts = vec![1, 7, len / 2, len - 1, rng.range(1, len - 1)];
    cuts.retain(|&c| c > 0 && c < len);
    for c in cuts {
        out.push((c, Fill::Absent));
    }
    let mut sectors = Vec::new();
    let mut s = (offset as usize).div_ceil(SECTOR) * SECTOR;
    while s < offset as usize + len {
        if s > offset as usize {
            sectors.push(s - offset as usize);
        }
        s += SECTOR;
    }
    if sectors.len() > 4 {
        let n = sectors.len();
        sectors = vec![sectors[0], sectors[1], sectors[n - 2], sectors[n - 1]];
    }
    for c in sectors {
        out.push((c, Fill::Absent));
        out.push((c, Fill::Zeros));
    }
    out.push((0, Fill::Zeros));
    out.sort_unstable_by_key(|&(c, f)| (c, f.name()));
    out.dedup();
    out
}

/// A WAL file's sink that records every write and sync.
#[derive(Debug)]
struct RecSink {
    file: File,
    rec: SimDir,
    number: u64,
    inode: u64,
    pos: u64,
    /// Set when the file could not be identified: every call fails.
    broken: Option<String>,
}

impl RecSink {
    fn check(&self) -> io::Result<()> {
        if let Some(m) = &self.broken {
            return Err(io::Error::other(m.clone()));
        }
        if self.rec.lock().dead {
            return Err(io::Error::from_raw_os_error(5));
        }
        Ok(())
    }
}

impl Write for RecSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check()?;
        let kill = self.rec.lock().kill_after.take();
        let allowed = kill.map_or(buf.len(), |k| k.min(buf.len()));
        if kill.is_some() {
            self.rec.lock().dead = true;
            if allowed == 0 {
                return Err(io::Error::from_raw_os_error(5));
            }
        }
        let n = self.file.write(&buf[..allowed])?;
        if n > 0 {
            self.rec.lock().steps.push(Step::Write {
                number: self.number,
                inode: self.inode,
                offset: self.pos,
                data: buf[..n].to_vec(),
            });
            self.pos += n as u64;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        self.file.flush()
    }
}

impl SyncData for RecSink {
    fn sync_data(&mut self) -> io::Result<()> {
        self.check()?;
        self.file.sync_data()?;
        self.rec.lock().steps.push(Step::Sync {
            number: self.number,
            inode: self.inode,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps_of(sim: &SimDir, steps: Vec<Step>) {
        sim.lock().steps = steps;
    }

    #[test]
    fn unsynced_create_may_be_lost_and_unsynced_data_torn() {
        let sim = SimDir::new();
        steps_of(
            &sim,
            vec![
                Step::Create {
                    number: 1,
                    inode: 1,
                },
                Step::Write {
                    number: 1,
                    inode: 1,
                    offset: 0,
                    data: vec![7; 1000],
                },
            ],
        );
        let mut rng = Rng::new(1);
        let (states, sizes) = sim.states(2, 1000, &mut rng);
        assert_eq!(sizes.returned, states.len());
        assert!(states.iter().any(|s| s.files.is_empty()), "entry lost");
        assert!(states.iter().any(|s| s.files.get(&1) == Some(&Vec::new())));
        assert!(states
            .iter()
            .any(|s| s.files.get(&1) == Some(&vec![7; 1000])));
        assert!(states
            .iter()
            .any(|s| s.files.get(&1) == Some(&vec![7; 512])));
        let zeros: Vec<u8> = [vec![7; 512], vec![0; 488]].concat();
        assert!(states.iter().any(|s| s.files.get(&1) == Some(&zeros)));
        // Nothing else: every state's file is a prefix of the write or zero-filled.
        for s in &states {
            if let Some(f) = s.files.get(&1) {
                assert!(f.len() <= 1000);
                let k = f.iter().take_while(|&&b| b == 7).count();
                assert!(f[k..].iter().all(|&b| b == 0), "{}", s.desc);
            }
        }
    }

    #[test]
    fn synced_data_and_synced_entries_always_survive() {
        let sim = SimDir::new();
        steps_of(
            &sim,
            vec![
                Step::Create {
                    number: 1,
                    inode: 1,
                },
                Step::Write {
                    number: 1,
                    inode: 1,
                    offset: 0,
                    data: vec![1; 10],
                },
                Step::Sync {
                    number: 1,
                    inode: 1,
                },
                Step::SyncDir,
                Step::Remove { number: 1 },
                Step::Create {
                    number: 2,
                    inode: 2,
                },
                Step::SetLen {
                    number: 2,
                    inode: 2,
                    len: 3,
                },
            ],
        );
        let mut rng = Rng::new(2);
        let (states, sizes) = sim.states(7, 1000, &mut rng);
        // Name 1: removed or back; name 2: absent or present, empty or 3 zeros.
        assert_eq!(sizes.product, 2 * 2 * 2);
        assert_eq!(states.len(), 6, "{states:#?}");
        for s in &states {
            if let Some(f) = s.files.get(&1) {
                assert_eq!(f, &vec![1; 10], "{}", s.desc);
            }
        }
        assert!(states.iter().any(|s| !s.files.contains_key(&1)));
        let (all, _) = sim.states(7, 2, &mut rng);
        assert_eq!(all.len(), 2, "budget: the two extremes");
        assert_eq!(sim.everything(7).files, BTreeMap::from([(2, vec![0; 3])]));
    }

    #[test]
    fn unsynced_rename_leaves_one_name_or_the_other_never_both_nor_neither() {
        let sim = SimDir::new();
        steps_of(
            &sim,
            vec![
                Step::Create {
                    number: 1,
                    inode: 1,
                },
                Step::Write {
                    number: 1,
                    inode: 1,
                    offset: 0,
                    data: vec![5; 4],
                },
                Step::Sync {
                    number: 1,
                    inode: 1,
                },
                Step::SyncDir,
                Step::Rename {
                    from: Name::Log(1),
                    to: Name::Free(1),
                },
                Step::Rename {
                    from: Name::Free(1),
                    to: Name::Log(3),
                },
                Step::RemoveName {
                    name: Name::Free(9),
                },
            ],
        );
        let mut rng = Rng::new(3);
        let (states, sizes) = sim.states(7, 1000, &mut rng);
        assert_eq!(sizes.product, 3, "one group, three prefixes");
        let shapes: Vec<(Vec<u64>, Vec<u64>)> = states
            .iter()
            .map(|s| {
                (
                    s.files.keys().copied().collect(),
                    s.free.keys().copied().collect(),
                )
            })
            .collect();
        assert_eq!(
            shapes,
            [(vec![1], vec![]), (vec![], vec![1]), (vec![3], vec![])]
        );
        for s in &states {
            for d in s.files.values().chain(s.free.values()) {
                assert_eq!(d, &vec![5; 4], "{}", s.desc);
            }
        }
    }

    #[test]
    fn ordered_entries_survive_as_one_prefix() {
        let sim = SimDir::new();
        steps_of(
            &sim,
            vec![
                Step::Create {
                    number: 1,
                    inode: 1,
                },
                Step::Create {
                    number: 2,
                    inode: 2,
                },
            ],
        );
        let mut rng = Rng::new(4);
        let shapes = |sim: &SimDir, rng: &mut Rng| -> Vec<Vec<u64>> {
            let (states, _) = sim.states(2, 100, rng);
            let mut v: Vec<Vec<u64>> = states
                .iter()
                .map(|s| s.files.keys().copied().collect())
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            shapes(&sim, &mut rng),
            [vec![], vec![1], vec![1, 2], vec![2]]
        );
        sim.entry_order(EntryOrder::Ordered);
        assert_eq!(shapes(&sim, &mut rng), [vec![], vec![1], vec![1, 2]]);
    }
}
