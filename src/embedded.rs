//! [`Embedded`]: the bytes of a bundle, tied to the program list generated for it.

use crate::Error;
use clbake_core::format::{Bundle, FormatError};
use std::marker::PhantomData;

/// Identifies the programs of one bundle: implemented by the `Program` enum that
/// [`include_kernels!`](crate::include_kernels) generates (program `i` of the bundle is the
/// variant with index `i`), and by [`AnyProgram`] for bundles read at run time.
pub trait ProgramId: Copy + Send + Sync + 'static {
    /// Position of the program in the bundle.
    fn index(self) -> usize;
    /// The program names the code was generated for, in bundle order; `None` for any bundle.
    fn expected() -> Option<&'static [&'static str]>;
}

/// A program of a bundle known only at run time, by its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AnyProgram(pub usize);

impl ProgramId for AnyProgram {
    fn index(self) -> usize {
        self.0
    }
    fn expected() -> Option<&'static [&'static str]> {
        None
    }
}

/// Bytes of a `.clbk` bundle for the programs `P`: compiled into the executable by
/// [`include_kernels!`](crate::include_kernels) (`BUNDLE`, whose type names the generated
/// `Program`, so a bundle cannot be paired with another crate's programs), or read at run
/// time (`Embedded<AnyProgram>`).
#[derive(Debug)]
pub struct Embedded<P = AnyProgram> {
    bytes: &'static [u8],
    _programs: PhantomData<fn() -> P>,
}

impl<P> Clone for Embedded<P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P> Copy for Embedded<P> {}

impl<P> Embedded<P> {
    /// Wraps embedded bundle bytes (what the generated code does).
    pub const fn new(bytes: &'static [u8]) -> Self {
        Embedded { bytes, _programs: PhantomData }
    }

    /// The raw bundle bytes.
    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// The same bytes for any programs: what clbake's non-generic code takes, so that it
    /// is compiled once in clbake rather than in every crate with a `Program` type.
    pub(crate) fn erased(&self) -> Embedded<AnyProgram> {
        Embedded::new(self.bytes)
    }

    /// Parses (and validates) the bundle's header and tables; decompresses nothing.
    pub fn parse(&self) -> Result<Bundle<'static>, FormatError> {
        Bundle::parse(self.bytes)
    }
}

impl<P: ProgramId> Embedded<P> {
    /// Bundle bytes read at run time standing in for this one — a bundle baked on the board
    /// with `--clbake-bake` or `clbake bake --remote`, tried before it is embedded — for the
    /// same typed code. Accepted only when it holds exactly the same programs, each with the
    /// same program key (same source tokens and options), so every kernel index the
    /// generated methods use still means the same kernel. Its binaries and tuning records
    /// are its own.
    pub fn replaced_by(&self, bytes: Vec<u8>) -> Result<Embedded<P>, Error> {
        let ours = self.parse().map_err(Error::Bundle)?;
        let theirs = Bundle::parse(&bytes).map_err(|e| Error::Replacement { detail: e.to_string() })?;
        let (a, b) = (ours.programs(), theirs.programs());
        if a.len() != b.len() {
            return Err(Error::Replacement { detail: format!("{} program(s) expected, {} found", a.len(), b.len()) });
        }
        if let Some((x, y)) = a.iter().zip(b).find(|(x, y)| x.name != y.name || x.key != y.key) {
            let why = if x.name != y.name {
                format!("program `{}` where `{}` was expected", y.name, x.name)
            } else {
                format!("program `{}` was baked from another source or options", x.name)
            };
            return Err(Error::Replacement { detail: why });
        }
        drop(theirs);
        Ok(Embedded::new(Box::leak(bytes.into_boxed_slice())))
    }
}

impl Embedded<AnyProgram> {
    /// Wraps bundle bytes read at run time (leaked: they live as long as the process).
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        Embedded::new(Box::leak(bytes.into_boxed_slice()))
    }
}
