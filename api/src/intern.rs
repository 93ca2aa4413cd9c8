//! One process-wide interner for the names of resources defined at run time (custom
//! resources): the scheme's entries hold `&'static str`s, so each distinct string, list of
//! strings or list of printer columns is leaked once and handed out again whenever it recurs.
//! Repeated updates of the same definitions therefore do not grow memory.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use crate::columns::Column;

#[derive(Default)]
struct Interned {
    strs: HashSet<&'static str>,
    lists: HashMap<Vec<&'static str>, &'static [&'static str]>,
    /// Few distinct sets of columns exist, so they are looked up one by one.
    columns: Vec<&'static [Column]>,
}

fn table() -> std::sync::MutexGuard<'static, Interned> {
    static TABLE: OnceLock<Mutex<Interned>> = OnceLock::new();
    TABLE
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn str_in(t: &mut Interned, s: &str) -> &'static str {
    if let Some(found) = t.strs.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    t.strs.insert(leaked);
    leaked
}

/// The one `&'static str` equal to `s`.
pub fn str(s: &str) -> &'static str {
    str_in(&mut table(), s)
}

/// The one `&'static [&'static str]` equal to `items`.
pub fn list<S: AsRef<str>>(items: &[S]) -> &'static [&'static str] {
    if items.is_empty() {
        return &[];
    }
    let mut t = table();
    let key: Vec<&'static str> = items.iter().map(|s| str_in(&mut t, s.as_ref())).collect();
    if let Some(found) = t.lists.get(&key) {
        return found;
    }
    let leaked: &'static [&'static str] = Box::leak(key.clone().into_boxed_slice());
    t.lists.insert(key, leaked);
    leaked
}

/// The one `&'static [Column]` equal to `columns` (whose strings are interned already).
pub fn columns(columns: Vec<Column>) -> &'static [Column] {
    if columns.is_empty() {
        return &[];
    }
    let mut t = table();
    if let Some(found) = t.columns.iter().find(|c| **c == columns.as_slice()) {
        return found;
    }
    let leaked: &'static [Column] = Box::leak(columns.into_boxed_slice());
    t.columns.push(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_and_lists_are_leaked_once() {
        let a = str(&format!("widget{}", 1));
        let b = str(&format!("widget{}", 1));
        assert!(std::ptr::eq(a, b));
        let l1 = list(&["w", "wd"]);
        let l2 = list(&[String::from("w"), String::from("wd")]);
        assert!(std::ptr::eq(l1, l2));
        assert_eq!(l1, &["w", "wd"]);
        assert!(list::<&str>(&[]).is_empty());
    }
}
