//! Which driver library serves an OpenCL platform, and what identifies that file.
//!
//! A platform's name and version strings say which driver release it claims to be; they do
//! not change when the library file is replaced by another build of the same release. A
//! binary baked for `PoCL 3.1` must not be served to a different build, so the device
//! fingerprint also stores [`DriverLibrary::identity`]: the file name, its size and the GNU
//! build-id of the object actually loaded.
//!
//! ```no_run
//! # use clbake_core::cl::library;
//! let platforms = opencl3::platform::get_platforms().unwrap_or_default();
//! for platform in &platforms {
//!     match library::for_platform(platform.id()) {
//!         Some(lib) => println!("{}", lib.identity()), // libpocl.so.2.10.0 size=1045528 build-id=4a43...
//!         None => println!("driver library unknown"),
//!     }
//! }
//! ```
//!
//! # How it is found (Linux)
//! The ICD loader has already `dlopen`ed every vendor library its ICD files name, so they are
//! objects of this process. [`for_platform`] walks the loaded objects (`dl_iterate_phdr`), takes
//! a reference to each (`dlopen` with `RTLD_NOLOAD`: nothing new is loaded), looks for the
//! vendor entry point `clIcdGetPlatformIDsKHR` (exported, or through the object's own
//! `clGetExtensionFunctionAddress`, as NVIDIA's driver does) and asks it for its platforms, as
//! the ICD loader itself does at start-up. Loaders hand vendor platform ids through unchanged,
//! so the object that lists the platform is its driver. Both the entry point and the symbol it
//! came through must lie inside that object's own mapping, and objects named `libOpenCL*` are
//! skipped: a loader that forwards these calls is never taken for a driver.
//!
//! # Trust
//! The build-id is read from the program headers and notes the dynamic linker mapped into this
//! process, not from the file. Every length in a note is checked against its segment, and a
//! segment is only read when it lies inside one of the object's loaded segments; a malformed
//! object yields `build_id: None`, never a panic or a read out of bounds. The size is the
//! file's size on disk now (a file replaced while the process runs shows its new size).
//!
//! On other targets [`for_platform`] returns `None`.

use opencl3::types::cl_platform_id;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

/// The driver library behind one OpenCL platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverLibrary {
    /// Full path of the loaded shared object (e.g. /usr/lib/x86_64-linux-gnu/libpocl.so.2.11.0).
    pub path: PathBuf,
    /// Size of that file in bytes.
    pub size: u64,
    /// GNU build-id (hex) of the loaded object, when it has one.
    pub build_id: Option<String>,
}

impl DriverLibrary {
    /// The identity as stored in a device fingerprint: file name (not the directory: the same
    /// package may live in another lib dir on the board), size and build-id, e.g.
    /// `libpocl.so.2.11.0 size=1234567 build-id=0a1b2c...` (or `build-id=none`).
    #[must_use]
    pub fn identity(&self) -> String {
        let name = self.path.file_name().unwrap_or(self.path.as_os_str()).to_string_lossy();
        format!("{name} size={} build-id={}", self.size, self.build_id.as_deref().unwrap_or("none"))
    }
}

/// The driver library serving `platform` (a `cl_platform_id` obtained from the ICD loader), or
/// None when it cannot be determined (not Linux, no ICD loader, the vendor library exports no
/// ICD entry point...). Never panics, never crashes the process.
///
/// The answer is cached per platform: the lookup runs once per process and platform.
pub fn for_platform(platform: cl_platform_id) -> Option<DriverLibrary> {
    // A HashMap is not const-constructible; a process has a handful of platforms at most.
    static CACHE: Mutex<Vec<(usize, Option<DriverLibrary>)>> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let key = platform.addr();
    if let Some((_, found)) = cache.iter().find(|(k, _)| *k == key) {
        return found.clone();
    }
    // Under the lock: one walk of the loaded objects at a time.
    let found = lookup(platform);
    cache.push((key, found.clone()));
    found
}

/// [`for_platform`] without the cache.
fn lookup(platform: cl_platform_id) -> Option<DriverLibrary> {
    if platform.is_null() {
        return None;
    }
    #[cfg(target_os = "linux")]
    return linux::lookup(platform);
    #[cfg(not(target_os = "linux"))]
    return None;
}

/// The GNU build-id (lower-case hex) in `notes`, the bytes of one `PT_NOTE` segment in native
/// byte order whose name and descriptor each start at a multiple of `align` (4, or 8 for
/// segments aligned so, as `.note.gnu.property` is). None when there is none or a note runs past
/// the end.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn build_id_in_notes(mut notes: &[u8], align: usize) -> Option<String> {
    const NT_GNU_BUILD_ID: u32 = 3;
    let align = if align == 8 { 8 } else { 4 };
    let padded = |n: usize| n.checked_add(align - 1).map(|n| n & !(align - 1));
    let word = |bytes: &[u8], at: usize| -> Option<u32> { Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?)) };
    while !notes.is_empty() {
        let (namesz, descsz, kind) = (to_usize(word(notes, 0)?)?, to_usize(word(notes, 4)?)?, word(notes, 8)?);
        let name = notes.get(12..12usize.checked_add(namesz)?)?;
        let desc_at = padded(12 + name.len())?; // no overflow: the name lies inside `notes`
        let desc_end = desc_at.checked_add(descsz)?;
        let desc = notes.get(desc_at..desc_end)?;
        if kind == NT_GNU_BUILD_ID && name == b"GNU\0" && !desc.is_empty() {
            return Some(desc.iter().fold(String::with_capacity(2 * desc.len()), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            }));
        }
        notes = notes.get(padded(desc_end)?..).unwrap_or_default();
    }
    None
}

/// `v` as usize, whatever width the ELF field has on this target.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn to_usize(v: impl TryInto<usize>) -> Option<usize> {
    v.try_into().ok()
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{build_id_in_notes, to_usize, DriverLibrary};
    use opencl3::types::{cl_int, cl_platform_id, cl_uint};
    use std::ffi::{c_char, c_int, c_void, CStr, CString, OsStr};
    use std::os::unix::ffi::OsStrExt;
    use std::ptr::NonNull;

    /// `clIcdGetPlatformIDsKHR` (`cl_khr_icd`).
    type IcdGetPlatformIds = unsafe extern "C" fn(cl_uint, *mut cl_platform_id, *mut cl_uint) -> cl_int;
    /// `clGetExtensionFunctionAddress`.
    type GetExtensionFunctionAddress = unsafe extern "C" fn(*const c_char) -> *mut c_void;

    /// One program header of a loaded object, copied out of the dynamic linker's list.
    struct Segment {
        kind: u32,
        flags: u32,
        vaddr: usize,
        memsz: usize,
        align: usize,
    }

    /// A loaded shared object: the name the dynamic linker knows it by, its load bias and
    /// segments.
    struct Object {
        name: CString,
        base: usize,
        segments: Vec<Segment>,
    }

    impl Object {
        /// The address range `[start, end)` a segment occupies in memory.
        fn range(&self, s: &Segment) -> Option<(usize, usize)> {
            let start = self.base.checked_add(s.vaddr)?;
            Some((start, start.checked_add(s.memsz)?))
        }

        /// Whether `[start, end)` lies inside one of the object's `PT_LOAD` segments (a
        /// readable one when `readable`).
        fn maps(&self, start: usize, end: usize, readable: bool) -> bool {
            self.segments
                .iter()
                .filter(|s| s.kind == libc::PT_LOAD && (!readable || s.flags & libc::PF_R != 0))
                .filter_map(|s| self.range(s))
                .any(|(lo, hi)| lo <= start && start < hi && end <= hi)
        }

        /// The GNU build-id in the object's mapped `PT_NOTE` segments. The object must stay
        /// loaded meanwhile (the caller holds a [`Handle`] on it).
        fn build_id(&self) -> Option<String> {
            self.segments.iter().filter(|s| s.kind == libc::PT_NOTE && s.memsz > 0).find_map(|s| {
                let (start, end) = self.range(s)?;
                if !self.maps(start, end, true) {
                    return None;
                }
                // SAFETY: [start, end) lies inside a readable PT_LOAD segment of an object that
                // stays loaded while the caller's handle lives; nothing writes to notes.
                let notes = unsafe { std::slice::from_raw_parts(start as *const u8, s.memsz) };
                build_id_in_notes(notes, s.align)
            })
        }
    }

    /// A reference on an already loaded object (`dlopen` with `RTLD_NOLOAD`), closed on drop.
    struct Handle(NonNull<c_void>);

    impl Handle {
        /// The object loaded under `name`, or None when no such object is loaded.
        fn open_loaded(name: &CStr) -> Option<Handle> {
            // SAFETY: name is a NUL-terminated string; RTLD_NOLOAD loads nothing and runs no
            // initialisers, it only counts one more reference on a loaded object.
            NonNull::new(unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) }).map(Handle)
        }

        /// The address of `symbol` as the dynamic linker resolves it from this handle.
        fn symbol(&self, symbol: &CStr) -> Option<NonNull<c_void>> {
            // SAFETY: the handle is open and symbol is NUL-terminated.
            NonNull::new(unsafe { libc::dlsym(self.0.as_ptr(), symbol.as_ptr()) })
        }
    }

    impl Drop for Handle {
        fn drop(&mut self) {
            // SAFETY: the handle came from dlopen and is closed once; NOLOAD handles count a
            // reference like any other.
            unsafe { libc::dlclose(self.0.as_ptr()) };
        }
    }

    /// Every loaded object with a name, in the dynamic linker's order (the main program, which
    /// has an empty name, is left out).
    fn loaded_objects() -> Vec<Object> {
        /// # Safety
        /// Called by `dl_iterate_phdr` with a valid `info` and the `data` pointer given to it,
        /// which is a `&mut Vec<Object>`.
        unsafe extern "C" fn collect(info: *mut libc::dl_phdr_info, _size: libc::size_t, data: *mut c_void) -> c_int {
            // SAFETY: see the function's contract; both live for this call only.
            let (info, objects) = unsafe { (&*info, &mut *data.cast::<Vec<Object>>()) };
            if info.dlpi_name.is_null() {
                return 0;
            }
            // SAFETY: dlpi_name is a NUL-terminated string owned by the dynamic linker.
            let name = unsafe { CStr::from_ptr(info.dlpi_name) };
            let Some(base) = to_usize(info.dlpi_addr) else { return 0 };
            if name.is_empty() || info.dlpi_phdr.is_null() {
                return 0;
            }
            // SAFETY: dlpi_phdr points at dlpi_phnum program headers while the callback runs.
            let headers = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
            let segments = headers
                .iter()
                .filter_map(|h| {
                    let (vaddr, memsz, align) = (to_usize(h.p_vaddr)?, to_usize(h.p_memsz)?, to_usize(h.p_align)?);
                    Some(Segment { kind: h.p_type, flags: h.p_flags, vaddr, memsz, align })
                })
                .collect();
            objects.push(Object { name: name.to_owned(), base, segments });
            0
        }
        let mut objects: Vec<Object> = Vec::new();
        // SAFETY: collect matches the callback contract and data points at `objects`, which
        // outlives the call; dl_iterate_phdr calls back synchronously.
        unsafe { libc::dl_iterate_phdr(Some(collect), (&raw mut objects).cast()) };
        objects
    }

    /// The object's own `clIcdGetPlatformIDsKHR`: exported, or handed out by its own
    /// `clGetExtensionFunctionAddress`. None when it has neither or when what is found lies
    /// outside the object (a loader forwarding to a vendor).
    fn icd_entry(object: &Object, handle: &Handle) -> Option<IcdGetPlatformIds> {
        let inside = |p: NonNull<c_void>| object.maps(p.addr().get(), p.addr().get().saturating_add(1), false).then_some(p);
        let entry = match handle.symbol(c"clIcdGetPlatformIDsKHR").and_then(inside) {
            Some(entry) => entry,
            None => {
                let address = handle.symbol(c"clGetExtensionFunctionAddress").and_then(inside)?;
                // SAFETY: an object exporting clGetExtensionFunctionAddress is an OpenCL
                // implementation; the symbol has this C signature in every one of them.
                let get = unsafe { std::mem::transmute::<*mut c_void, GetExtensionFunctionAddress>(address.as_ptr()) };
                // SAFETY: a NUL-terminated name is all it reads.
                inside(NonNull::new(unsafe { get(c"clIcdGetPlatformIDsKHR".as_ptr()) })?)?
            }
        };
        // SAFETY: cl_khr_icd fixes clIcdGetPlatformIDsKHR's C signature.
        Some(unsafe { std::mem::transmute::<*mut c_void, IcdGetPlatformIds>(entry.as_ptr()) })
    }

    /// The platforms a vendor's `clIcdGetPlatformIDsKHR` reports (empty on error).
    fn vendor_platforms(entry: IcdGetPlatformIds) -> Vec<cl_platform_id> {
        let mut count: cl_uint = 0;
        // SAFETY: the cl_khr_icd contract: with 0 entries and a null list it only writes count.
        if unsafe { entry(0, std::ptr::null_mut(), &mut count) } != 0 || count == 0 {
            return Vec::new();
        }
        let mut ids = vec![std::ptr::null_mut(); to_usize(count).unwrap_or(0)];
        let mut written: cl_uint = 0;
        // SAFETY: ids holds `count` entries, the most it may write.
        if unsafe { entry(count, ids.as_mut_ptr(), &mut written) } != 0 {
            return Vec::new();
        }
        ids.truncate(to_usize(written).unwrap_or(0));
        ids
    }

    /// The loaded object whose ICD entry point lists `platform`.
    pub(super) fn lookup(platform: cl_platform_id) -> Option<DriverLibrary> {
        for object in loaded_objects() {
            let path = std::path::Path::new(OsStr::from_bytes(object.name.to_bytes()));
            if path.file_name().is_some_and(|n| n.as_bytes().starts_with(b"libOpenCL")) {
                continue;
            }
            let Some(handle) = Handle::open_loaded(&object.name) else {
                continue;
            };
            let Some(entry) = icd_entry(&object, &handle) else { continue };
            if !vendor_platforms(entry).contains(&platform) {
                continue;
            }
            let build_id = object.build_id();
            drop(handle);
            let size = std::fs::metadata(path).ok()?.len();
            return Some(DriverLibrary { path: path.to_path_buf(), size, build_id });
        }
        None
    }
}

#[cfg(test)]
mod tests;
