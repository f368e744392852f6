//! Build options given to clbake: checked so that nothing reaches the driver that would
//! make the bundle depend on the build machine or smuggle in another option.
//!
//! - A library-wide define (`Builder::with_define`, `clbake bake -D`) has an identifier for
//!   a name and a value without whitespace or quotes: `-D 'X=float -I/dir'` is refused.
//! - Program options (variants, `Builder::with_program_options`, `--program-options`) may
//!   hold any build option but `-I`: include directories go to the include expander
//!   (`with_include_dir`, `-I`), which puts the headers into the bundle instead of leaving
//!   a path of the build machine in its options.

use crate::clc::lex::is_identifier as is_ident;

/// Checks a define and returns it as an option (`-DNAME` or `-DNAME=VALUE`).
pub fn define(name: &str, value: &str) -> Result<String, String> {
    if !is_ident(name) {
        return Err(format!("define name `{name}` is not an identifier"));
    }
    if let Some(c) = value.chars().find(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\') || c.is_control()) {
        return Err(format!(
            "the value of define `{name}` holds {c:?}: a define value is one word (it would pass another option to the compiler)"
        ));
    }
    Ok(if value.is_empty() { format!("-D{name}") } else { format!("-D{name}={value}") })
}

/// Checks program options: no `-I`, every `-D`/`-U` names an identifier, no NUL.
pub fn check(options: &str) -> Result<(), String> {
    if options.contains('\0') {
        return Err("build options hold a NUL byte".into());
    }
    let mut words = options.split_whitespace();
    while let Some(w) = words.next() {
        if w.starts_with("-I") {
            return Err(format!("`{w}`: include directories are not build options here; add them with `-I DIR` / `Builder::with_include_dir` (the headers then go into the bundle)"));
        }
        for flag in ["-D", "-U"] {
            if let Some(rest) = w.strip_prefix(flag) {
                let def = if rest.is_empty() { words.next().unwrap_or_default() } else { rest };
                let name = def.split_once('=').map_or(def, |(n, _)| n);
                if !is_ident(name) {
                    return Err(format!("`{flag} {def}`: `{name}` is not an identifier"));
                }
            }
        }
    }
    Ok(())
}

/// Joins option strings, skipping empty ones.
pub fn join<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    parts.into_iter().map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defines() {
        assert_eq!(define("T", "float").unwrap(), "-DT=float");
        assert_eq!(define("USE_X", "").unwrap(), "-DUSE_X");
        assert!(define("X", "float -I/dir").unwrap_err().contains("one word"));
        assert!(define("1X", "1").unwrap_err().contains("not an identifier"));
        assert!(define("X", "\"a\"").is_err());
    }

    #[test]
    fn program_options() {
        check("-D T=uchar -DWT=float -cl-fast-relaxed-math -U FOO -cl-std=CL2.0").unwrap();
        assert!(check("-I/usr/include").unwrap_err().contains("include directories"));
        assert!(check("-D 2=3").unwrap_err().contains("not an identifier"));
        assert_eq!(join(["", "-DA", " ", "-DB"]), "-DA -DB");
    }
}
