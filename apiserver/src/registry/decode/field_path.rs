//! A field path as a chain of steps, each kept on the stack of the call that takes it and
//! spelled out (`spec.containers[0].name`) only when something is reported there. Most bodies
//! report nothing, so a walk builds no text at all.

/// Where a walk is: the last step and the path to it.
#[derive(Clone, Copy)]
pub(super) struct FieldPath<'p> {
    parent: Option<&'p FieldPath<'p>>,
    step: Step<'p>,
}

#[derive(Clone, Copy)]
pub(super) enum Step<'p> {
    Root,
    /// A struct field: part of Go's field path.
    Field(&'p str),
    /// A map entry: named in the reported path, not in Go's.
    Key(&'p str),
    Index(usize),
}

impl<'p> FieldPath<'p> {
    pub(super) const ROOT: FieldPath<'static> = FieldPath {
        parent: None,
        step: Step::Root,
    };

    /// The path one step further.
    pub(super) fn then<'c>(&'c self, step: Step<'c>) -> FieldPath<'c> {
        FieldPath {
            parent: Some(self),
            step,
        }
    }

    /// The steps from the root to here.
    fn steps(&self) -> Vec<Step<'p>> {
        let mut steps = vec![self.step];
        let mut here = self.parent;
        while let Some(path) = here {
            steps.push(path.step);
            here = path.parent;
        }
        steps.reverse();
        steps
    }

    /// Names joined by dots, list indices in brackets: `spec.containers[0].name`.
    pub(super) fn dotted(&self) -> String {
        let mut out = String::new();
        for step in self.steps() {
            match step {
                Step::Root => {}
                Step::Field(name) | Step::Key(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    /// Go's path of struct fields from the root: map keys and list indices left out.
    pub(super) fn go_fields(&self) -> String {
        let fields: Vec<&str> = self
            .steps()
            .into_iter()
            .filter_map(|step| match step {
                Step::Field(name) => Some(name),
                _ => None,
            })
            .collect();
        fields.join(".")
    }
}

#[cfg(test)]
mod tests {
    use super::{FieldPath, Step};

    #[test]
    fn paths_are_spelled_as_reported() {
        let spec = FieldPath::ROOT.then(Step::Field("spec"));
        let containers = spec.then(Step::Field("containers"));
        let first = containers.then(Step::Index(0));
        let env = first.then(Step::Field("resources"));
        let limit = env.then(Step::Key("cpu"));
        assert_eq!(limit.dotted(), "spec.containers[0].resources.cpu");
        assert_eq!(limit.go_fields(), "spec.containers.resources");
        assert_eq!(FieldPath::ROOT.then(Step::Index(2)).dotted(), "[2]");
        assert_eq!(FieldPath::ROOT.dotted(), "");
    }
}
