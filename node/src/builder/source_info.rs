//! The commit the sources were taken at, kept in the work directory by the clone for the
//! steps after it (upstream's `sourceinfo.json`).

use std::path::Path;

use serde_json::json;

use super::build_spec::Revision;

const FILE: &str = "sourceinfo.json";

pub fn write(work_dir: &Path, r: &Revision) -> std::io::Result<()> {
    let value = json!({
        "commit": r.commit, "message": r.message, "date": r.date,
        "authorName": r.author_name, "authorEmail": r.author_email,
        "committerName": r.committer_name, "committerEmail": r.committer_email,
    });
    std::fs::write(work_dir.join(FILE), value.to_string())
}

/// The revision, if the clone wrote one.
pub fn read(work_dir: &Path) -> Option<Revision> {
    let text = std::fs::read_to_string(work_dir.join(FILE)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    Some(Revision {
        commit: s("commit"),
        message: s("message"),
        author_name: s("authorName"),
        author_email: s("authorEmail"),
        committer_name: s("committerName"),
        committer_email: s("committerEmail"),
        date: s("date"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revision_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), None);
        let r = Revision {
            commit: "c".into(),
            message: "m".into(),
            author_name: "a".into(),
            author_email: "a@x".into(),
            committer_name: "c".into(),
            committer_email: "c@x".into(),
            date: "d".into(),
        };
        write(dir.path(), &r).unwrap();
        assert_eq!(read(dir.path()), Some(r));
    }
}
