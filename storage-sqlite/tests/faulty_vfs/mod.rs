//! A SQLite VFS shim for tests that injects I/O errors: it wraps the platform's default
//! VFS, forwards every call, and fails reads, writes or syncs of the files under a
//! watched directory while a test has those faults switched on.
//!
//! rusqlite offers no VFS of its own, so this is written against SQLite's C interface
//! (`rusqlite::ffi`), as SQLite's own test shims (`test_vfstrace.c`, `test_devsym.c`)
//! are. It is `unsafe` code, and test code: the library crates forbid `unsafe`.
//! Registered as the process's default VFS, it sees every file the store opens —
//! database, `-wal` and `-shm` — with no change to `SqliteStore`.
//!
//! Each opened file is a [`ShimFile`] followed, in the same allocation SQLite made from
//! the VFS's `szOsFile`, by the default VFS's own file object, to which every method
//! forwards. A failed read is `SQLITE_IOERR_READ`, a failed write `SQLITE_IOERR_WRITE`,
//! a failed sync `SQLITE_IOERR_FSYNC`: what the unix VFS returns when `pread`, `pwrite`
//! or `fsync` fail with `EIO`. Memory-mapped reads (`xFetch`) are declined while reads
//! fail, so SQLite falls back to `xRead`.
#![allow(unsafe_code, unreachable_pub, dead_code)]

use std::ffi::{CStr, CString, c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};

use rusqlite::ffi;

/// The faults switched on for the files under one directory, and how many were injected.
#[derive(Debug, Default)]
pub struct Faults {
    reads: AtomicBool,
    writes: AtomicBool,
    syncs: AtomicBool,
    injected: AtomicU64,
}

impl Faults {
    /// Fails (or stops failing) every read.
    pub fn fail_reads(&self, on: bool) {
        self.reads.store(on, Ordering::SeqCst);
    }

    /// Fails (or stops failing) every write.
    pub fn fail_writes(&self, on: bool) {
        self.writes.store(on, Ordering::SeqCst);
    }

    /// Fails (or stops failing) every sync (`fsync`).
    pub fn fail_syncs(&self, on: bool) {
        self.syncs.store(on, Ordering::SeqCst);
    }

    /// Clears every fault: the disk is healthy again.
    pub fn clear(&self) {
        self.fail_reads(false);
        self.fail_writes(false);
        self.fail_syncs(false);
    }

    /// How many calls have failed so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::SeqCst)
    }

    /// Whether the call guarded by `switch` fails now; counts it if so.
    fn strikes(&self, switch: &AtomicBool) -> bool {
        let on = switch.load(Ordering::SeqCst);
        if on {
            self.injected.fetch_add(1, Ordering::SeqCst);
        }
        on
    }
}

/// The watched directories and their faults.
static WATCHED: Mutex<Vec<(PathBuf, Arc<Faults>)>> = Mutex::new(Vec::new());

/// Installs the shim as the default VFS (once per process) and watches the files under
/// `dir` (opened from now on), with no fault switched on yet.
pub fn watch(dir: &Path) -> Arc<Faults> {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(install);
    let faults = Arc::new(Faults::default());
    WATCHED.lock().unwrap_or_else(PoisonError::into_inner).push((dir.to_path_buf(), faults.clone()));
    faults
}

/// The faults of the directory `name` lies under, if it is watched.
fn faults_of(name: &CStr) -> Option<Arc<Faults>> {
    let name = Path::new(name.to_str().ok()?);
    let watched = WATCHED.lock().unwrap_or_else(PoisonError::into_inner);
    watched.iter().find(|(dir, _)| name.starts_with(dir)).map(|(_, faults)| faults.clone())
}

/// The file object SQLite sees; the default VFS's own follows it in memory.
#[repr(C)]
struct ShimFile {
    base: ffi::sqlite3_file,
    /// From `Arc::into_raw` for a watched file (released in `xClose`), else null.
    faults: *const Faults,
}

/// Bytes from a `ShimFile` to the wrapped file object behind it (8-aligned).
const WRAPPED_OFFSET: usize = std::mem::size_of::<ShimFile>().next_multiple_of(8);

fn install() {
    // SAFETY: `sqlite3_vfs_find(NULL)` returns the default VFS, which lives as long as
    // the process; the shim copies it, so the copy's methods other than `xOpen` are the
    // default's own (the unix VFS's ignore their VFS argument: `UNUSED_PARAMETER` in
    // sqlite3.c). The copy and its name are leaked, as SQLite keeps them registered.
    unsafe {
        let default = ffi::sqlite3_vfs_find(std::ptr::null());
        assert!(!default.is_null(), "SQLite has no default VFS");
        let mut shim = *default;
        shim.pNext = std::ptr::null_mut();
        shim.zName = CString::new("carespace-faulty").unwrap().into_raw();
        shim.szOsFile = c_int::try_from(WRAPPED_OFFSET).unwrap() + (*default).szOsFile;
        shim.pAppData = default.cast::<c_void>();
        shim.xOpen = Some(open);
        let shim = Box::into_raw(Box::new(shim));
        assert_eq!(ffi::sqlite3_vfs_register(shim, 1), ffi::SQLITE_OK, "cannot register the faulty VFS");
    }
}

/// The wrapped file behind `file`.
///
/// # Safety
/// `file` was opened by [`open`].
unsafe fn wrapped(file: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    // SAFETY: SQLite allocated `szOsFile` bytes for `file`: the shim's, then the wrapped.
    unsafe { file.cast::<u8>().add(WRAPPED_OFFSET).cast() }
}

/// The wrapped file's methods.
///
/// # Safety
/// `file` was opened by [`open`] and its wrapped file opened successfully.
unsafe fn methods(file: *mut ffi::sqlite3_file) -> &'static ffi::sqlite3_io_methods {
    // SAFETY: the default VFS sets its methods to a static table when its open succeeds.
    unsafe { &*(*wrapped(file)).pMethods }
}

/// The faults watching `file`, if any.
///
/// # Safety
/// `file` was opened by [`open`] and is not yet closed.
unsafe fn faults(file: *mut ffi::sqlite3_file) -> Option<&'static Faults> {
    // SAFETY: a non-null pointer is an `Arc` this file holds until `close`.
    unsafe { (*file.cast::<ShimFile>()).faults.as_ref() }
}

unsafe extern "C" fn open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: SQLite passes the VFS registered in `install`, whose app data is the
    // default VFS, and `szOsFile` bytes at `file`.
    unsafe {
        let default = (*vfs).pAppData.cast::<ffi::sqlite3_vfs>();
        let shim = file.cast::<ShimFile>();
        (*shim).base.pMethods = std::ptr::null();
        (*shim).faults = std::ptr::null();
        let rc = ((*default).xOpen.unwrap())(default, name, wrapped(file), flags, out_flags);
        if (*wrapped(file)).pMethods.is_null() {
            return rc;
        }
        if !name.is_null() {
            (*shim).faults = faults_of(CStr::from_ptr(name)).map_or(std::ptr::null(), Arc::into_raw);
        }
        (*shim).base.pMethods = &METHODS;
        rc
    }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

/// Calls the wrapped file's method `$name` with the same arguments (SQLite calls these
/// only on a file `open` succeeded for).
macro_rules! forward {
    ($file:ident . $name:ident ( $($arg:expr),* )) => {
        // SAFETY: see the macro's doc.
        unsafe {
            match methods($file).$name {
                Some(method) => method(wrapped($file) $(, $arg)*),
                None => ffi::SQLITE_MISUSE,
            }
        }
    };
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let rc = forward!(file.xClose());
    // SAFETY: the pointer came from `Arc::into_raw` in `open`; this is its only release.
    unsafe {
        let shim = file.cast::<ShimFile>();
        if !(*shim).faults.is_null() {
            drop(Arc::from_raw((*shim).faults));
            (*shim).faults = std::ptr::null();
        }
    }
    rc
}

unsafe extern "C" fn read(file: *mut ffi::sqlite3_file, buf: *mut c_void, amount: c_int, offset: i64) -> c_int {
    // SAFETY: SQLite calls this on a file `open` succeeded for.
    if unsafe { faults(file) }.is_some_and(|f| f.strikes(&f.reads)) {
        return ffi::SQLITE_IOERR_READ;
    }
    forward!(file.xRead(buf, amount, offset))
}

unsafe extern "C" fn write(file: *mut ffi::sqlite3_file, buf: *const c_void, amount: c_int, offset: i64) -> c_int {
    // SAFETY: as in `read`.
    if unsafe { faults(file) }.is_some_and(|f| f.strikes(&f.writes)) {
        return ffi::SQLITE_IOERR_WRITE;
    }
    forward!(file.xWrite(buf, amount, offset))
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: as in `read`.
    if unsafe { faults(file) }.is_some_and(|f| f.strikes(&f.syncs)) {
        return ffi::SQLITE_IOERR_FSYNC;
    }
    forward!(file.xSync(flags))
}

unsafe extern "C" fn fetch(file: *mut ffi::sqlite3_file, offset: i64, amount: c_int, out: *mut *mut c_void) -> c_int {
    // SAFETY: as in `read`; `out` is SQLite's.
    if unsafe { faults(file) }.is_some_and(|f| f.reads.load(Ordering::SeqCst)) {
        unsafe { *out = std::ptr::null_mut() };
        return ffi::SQLITE_OK;
    }
    forward!(file.xFetch(offset, amount, out))
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    forward!(file.xTruncate(size))
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    forward!(file.xFileSize(size))
}

unsafe extern "C" fn lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    forward!(file.xLock(level))
}

unsafe extern "C" fn unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    forward!(file.xUnlock(level))
}

unsafe extern "C" fn check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    forward!(file.xCheckReservedLock(out))
}

unsafe extern "C" fn file_control(file: *mut ffi::sqlite3_file, op: c_int, arg: *mut c_void) -> c_int {
    forward!(file.xFileControl(op, arg))
}

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    forward!(file.xSectorSize())
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    forward!(file.xDeviceCharacteristics())
}

unsafe extern "C" fn shm_map(
    file: *mut ffi::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    forward!(file.xShmMap(page, size, extend, out))
}

unsafe extern "C" fn shm_lock(file: *mut ffi::sqlite3_file, offset: c_int, n: c_int, flags: c_int) -> c_int {
    forward!(file.xShmLock(offset, n, flags))
}

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    // SAFETY: as in `forward!`.
    unsafe {
        if let Some(barrier) = methods(file).xShmBarrier {
            barrier(wrapped(file));
        }
    }
}

unsafe extern "C" fn shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    forward!(file.xShmUnmap(delete))
}

unsafe extern "C" fn unfetch(file: *mut ffi::sqlite3_file, offset: i64, page: *mut c_void) -> c_int {
    forward!(file.xUnfetch(offset, page))
}
