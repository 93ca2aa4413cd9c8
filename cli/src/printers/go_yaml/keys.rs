//! The order go-yaml v2 writes a map's keys in (its `keyList.Less`): runes compared one by
//! one, a letter after any other character, runs of digits compared by their value, and a
//! shorter key first when one is the other's prefix. kubectl's YAML has its keys in this
//! order, not in byte order: `a9` before `a10`, `_x` before `Ax`.

use std::cmp::Ordering;

pub fn order(a: &str, b: &str) -> Ordering {
    if less(a, b) {
        Ordering::Less
    } else if less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn less(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    for i in 0..a.len().min(b.len()) {
        if a[i] == b[i] {
            continue;
        }
        let (al, bl) = (a[i].is_alphabetic(), b[i].is_alphabetic());
        if al && bl {
            return a[i] < b[i];
        }
        if al || bl {
            return bl;
        }
        // Digit runs by value; a run that continues one of leading zeros counts from one.
        let (mut an, mut bn) = (0i64, 0i64);
        if a[i] == '0' || b[i] == '0' {
            for j in (0..i).rev() {
                if !a[j].is_ascii_digit() {
                    break;
                }
                if a[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < a.len() && a[ai].is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(a[ai] as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < b.len() && b[bi].is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(b[bi] as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return a[i] < b[i];
    }
    a.len() < b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut keys: Vec<&str>) -> Vec<&str> {
        keys.sort_by(|a, b| order(a, b));
        keys
    }

    #[test]
    fn letters_come_after_other_characters_and_numbers_by_value() {
        assert_eq!(sorted(vec!["a10", "a9", "a"]), ["a", "a9", "a10"]);
        assert_eq!(sorted(vec!["Ax", "_x", "ax"]), ["_x", "Ax", "ax"]);
        assert_eq!(
            sorted(vec!["metadata", "apiVersion", "kind", "data"]),
            ["apiVersion", "data", "kind", "metadata"]
        );
        assert_eq!(sorted(vec!["a.b", "a-b", "ab"]), ["a-b", "a.b", "ab"]);
    }
}
