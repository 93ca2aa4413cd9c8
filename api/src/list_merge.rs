//! How strategic merge patch merges a list: the one type the scheme and the kinds' field
//! schemas both speak.

/// How strategic merge patch merges a list field (fields not listed are replaced whole).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListMerge {
    /// A list of objects, merged element by element on this key.
    Key(&'static str),
    /// A list of scalars, merged as a set (union).
    Set,
}
