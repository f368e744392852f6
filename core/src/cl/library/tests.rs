//! Note parsing on hand-made bytes; the lookup against the real drivers of this machine (PoCL
//! from the default ICD setup, Oclgrind and a rebuilt PoCL copy in child processes).

use super::*;
use opencl3::platform::{get_platforms, Platform};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// One ELF note in native byte order, padded to `align`.
fn note(name: &[u8], kind: u32, desc: &[u8], align: usize) -> Vec<u8> {
    let pad = |v: &mut Vec<u8>| v.resize(v.len().div_ceil(align) * align, 0);
    let mut out = Vec::new();
    for word in [name.len() as u32, desc.len() as u32, kind] {
        out.extend_from_slice(&word.to_ne_bytes());
    }
    out.extend_from_slice(name);
    pad(&mut out);
    out.extend_from_slice(desc);
    pad(&mut out);
    out
}

const ID: [u8; 20] =
    [0x4a, 0x43, 0x65, 0xa4, 0x30, 0xd3, 0x6f, 0xff, 0x65, 0x64, 0xd0, 0x6f, 0x6f, 0xbc, 0xe7, 0x5a, 0xbf, 0x28, 0xac, 0xca];
const ID_HEX: &str = "4a4365a430d36fff6564d06f6fbce75abf28acca";

#[test]
fn build_id_is_found_after_other_notes() {
    let mut notes = note(b"GNU\0", 1, &[0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0], 4); // NT_GNU_ABI_TAG
    notes.extend(note(b"stapsdt\0", 3, b"odd", 4));
    notes.extend(note(b"GNU\0", 3, &ID, 4));
    assert_eq!(build_id_in_notes(&notes, 4).as_deref(), Some(ID_HEX));
}

#[test]
fn build_id_in_an_8_aligned_segment() {
    let mut notes = note(b"GNU\0", 5, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 8); // NT_GNU_PROPERTY_TYPE_0
    notes.extend(note(b"GNU\0", 3, &ID[..7], 8));
    assert_eq!(build_id_in_notes(&notes, 8).as_deref(), Some("4a4365a430d36f"));
}

#[test]
fn other_owner_type_or_empty_desc_is_no_build_id() {
    for notes in [note(b"GNX\0", 3, &ID, 4), note(b"GNU\0", 4, &ID, 4), note(b"GNU", 3, &ID, 4), note(b"GNU\0", 3, &[], 4)] {
        assert_eq!(build_id_in_notes(&notes, 4), None);
    }
    assert_eq!(build_id_in_notes(&[], 4), None);
}

#[test]
fn truncation_at_every_offset_never_panics() {
    let mut notes = note(b"GNU\0", 1, &[7; 16], 4);
    notes.extend(note(b"GNU\0", 3, &ID, 4));
    let complete = notes.len() - (ID.len().div_ceil(4) * 4 - ID.len()); // the last note's padding is optional
    for len in 0..notes.len() {
        let found = build_id_in_notes(&notes[..len], 4);
        assert_eq!(found.is_some(), len >= complete, "prefix of {len} bytes");
    }
}

#[test]
fn huge_lengths_do_not_overflow() {
    for (namesz, descsz) in [(u32::MAX, 0), (4, u32::MAX), (u32::MAX - 2, u32::MAX - 2)] {
        let mut notes = Vec::new();
        for word in [namesz, descsz, 3] {
            notes.extend_from_slice(&word.to_ne_bytes());
        }
        notes.extend_from_slice(b"GNU\0");
        notes.extend_from_slice(&ID);
        assert_eq!(build_id_in_notes(&notes, 4), None);
        assert_eq!(build_id_in_notes(&notes, 8), None);
    }
}

#[test]
fn identity_names_file_size_and_build_id() {
    let mut lib =
        DriverLibrary { path: "/usr/lib/x86_64-linux-gnu/libpocl.so.2.11.0".into(), size: 1234567, build_id: Some(ID_HEX.into()) };
    assert_eq!(lib.identity(), format!("libpocl.so.2.11.0 size=1234567 build-id={ID_HEX}"));
    lib.build_id = None;
    assert_eq!(lib.identity(), "libpocl.so.2.11.0 size=1234567 build-id=none");
}

#[test]
fn null_platform_has_no_library() {
    assert_eq!(for_platform(std::ptr::null_mut()), None);
}

/// The platforms of this process, or None (with a note) when there is no OpenCL here.
fn platforms() -> Option<Vec<Platform>> {
    let found = cl3::is_opencl_runtime_available().then(get_platforms).and_then(Result::ok).filter(|p| !p.is_empty());
    if found.is_none() {
        eprintln!("skipped: no OpenCL platform");
    }
    found
}

fn text(r: opencl3::Result<String>) -> String {
    r.map(|v| v.trim_end_matches('\0').trim().to_string()).unwrap_or_default()
}

/// PoCL's platform in this process and its library, or None (with a note).
fn system_pocl() -> Option<(Platform, DriverLibrary)> {
    let platform = platforms()?.into_iter().find(|p| text(p.name()).contains("Portable Computing Language"));
    let Some(platform) = platform else {
        eprintln!("skipped: no PoCL platform");
        return None;
    };
    let start = Instant::now();
    let lib = for_platform(platform.id()).expect("PoCL's library is found");
    eprintln!("for_platform -> {}: {:?}", lib.path.display(), start.elapsed());
    Some((platform, lib))
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

#[test]
fn pocl_platform_is_served_by_libpocl() {
    let Some((platform, lib)) = system_pocl() else { return };
    let start = Instant::now();
    let again = lookup(platform.id());
    eprintln!("uncached lookup: {:?}", start.elapsed());
    assert_eq!(again.as_ref(), Some(&lib));
    assert_eq!(for_platform(platform.id()).as_ref(), Some(&lib), "cached answer");

    let name = file_name(&lib.path);
    assert!(name.starts_with("libpocl"), "{}", lib.path.display());
    assert!(lib.size > 0);
    assert_eq!(lib.size, std::fs::metadata(&lib.path).unwrap().len());
    let build_id = lib.build_id.clone().expect("Debian builds carry a build-id");
    assert!(build_id.len() >= 16 && build_id.bytes().all(|b| b.is_ascii_hexdigit()), "{build_id}");
    let identity = lib.identity();
    assert!(identity.starts_with(&format!("{name} size={} build-id={build_id}", lib.size)), "{identity}");

    // Cross-check the in-memory build-id with binutils reading the file.
    if let Ok(out) = Command::new("readelf").arg("-n").arg(&lib.path).output() {
        let notes = String::from_utf8_lossy(&out.stdout);
        assert!(notes.contains(&format!("Build ID: {build_id}")), "{notes}");
    }
}

/// Env var that turns [`child_reports_platforms`] into the child's report.
const CHILD_ENV: &str = "CLBAKE_LIBRARY_TEST_CHILD";

/// Helper, not a test of its own: in a child process (with [`CHILD_ENV`] set), prints one line
/// per platform: name, version, then the library's path, size, build-id and identity.
#[test]
fn child_reports_platforms() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    for platform in platforms().unwrap_or_default() {
        let lib = for_platform(platform.id());
        let fields = match &lib {
            Some(l) => format!("{}\t{}\t{}\t{}", l.path.display(), l.size, l.build_id.as_deref().unwrap_or("none"), l.identity()),
            None => "-\t-\t-\t-".into(),
        };
        println!("CLBAKE_CHILD\t{}\t{}\t{fields}", text(platform.name()), text(platform.version()));
    }
}

/// What a child with `OCL_ICD_VENDORS=vendors` reports: (name, version, path, size, build-id,
/// identity) per platform.
fn run_child(vendors: &Path) -> Vec<[String; 6]> {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "cl::library::tests::child_reports_platforms", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env("OCL_ICD_VENDORS", vendors)
        .env_remove("OCL_ICD_FILENAMES")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // libtest prints `test <name> ... ` before the first line on the same line.
    let lines = stdout.lines().filter_map(|l| l.split_once("CLBAKE_CHILD\t").map(|(_, l)| l));
    lines.map(|l| std::array::from_fn(|i| l.split('\t').nth(i).unwrap_or_default().to_string())).collect()
}

/// A folder under the temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("clbake-library-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("vendors")).unwrap();
        TempDir(dir)
    }

    /// Writes `vendors/<name>` naming `library`; returns the vendors folder.
    fn icd(&self, name: &str, library: &Path) -> PathBuf {
        std::fs::write(self.0.join("vendors").join(name), format!("{}\n", library.display())).unwrap();
        self.0.join("vendors")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn oclgrind_platform_is_served_by_oclgrind() {
    let library = Path::new("/usr/lib/oclgrind/liboclgrind-rt-icd.so");
    if !library.exists() {
        eprintln!("skipped: no {}", library.display());
        return;
    }
    let dir = TempDir::new("oclgrind");
    let platforms = run_child(&dir.icd("oclgrind.icd", library));
    assert_eq!(platforms.len(), 1, "{platforms:?}");
    let [name, _, path, size, _, identity] = &platforms[0];
    assert!(name.contains("Oclgrind"), "{name}");
    assert_eq!(file_name(Path::new(path)), "liboclgrind-rt-icd.so");
    assert_eq!(size.parse::<u64>().ok(), Some(std::fs::metadata(library).unwrap().len()));
    assert!(identity.starts_with("liboclgrind-rt-icd.so size="), "{identity}");
}

#[test]
fn replaced_library_with_same_strings_has_another_identity() {
    let Some((platform, system)) = system_pocl() else { return };
    let dir = TempDir::new("replaced");
    let lib_dir = dir.0.join("lib");
    std::fs::create_dir_all(&lib_dir).unwrap();
    // Same file name, another build: PoCL's library with one more (unloaded) section.
    let copy = lib_dir.join(system.path.file_name().unwrap());
    std::fs::copy(&system.path, &copy).unwrap();
    let section = dir.0.join("section.bin");
    std::fs::write(&section, b"another build of the same release").unwrap();
    let objcopy = Command::new("objcopy")
        .arg("--add-section")
        .arg(format!(".clbake_test={}", section.display()))
        .args(["--set-section-flags", ".clbake_test=noload,readonly"])
        .arg(&copy)
        .status();
    if !objcopy.is_ok_and(|s| s.success()) {
        eprintln!("skipped: objcopy unavailable or failed");
        return;
    }

    let platforms = run_child(&dir.icd("pocl-copy.icd", &copy));
    assert_eq!(platforms.len(), 1, "{platforms:?}");
    let [name, version, path, size, build_id, identity] = &platforms[0];
    assert_eq!((name, version), (&text(platform.name()), &text(platform.version())), "same version strings");
    assert_eq!(Path::new(path), copy);
    assert_eq!(size.parse::<u64>().ok(), Some(std::fs::metadata(&copy).unwrap().len()));
    assert_ne!(size.parse::<u64>().ok(), Some(system.size));
    assert_ne!(identity, &system.identity(), "another build, another identity");
    // objcopy keeps the build-id note: the size is what tells these two apart.
    assert_eq!(Some(build_id.as_str()), system.build_id.as_deref());
}
