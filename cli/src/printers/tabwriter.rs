//! Go's `text/tabwriter` as the describers use it, left-aligned with no minimum width: a cell
//! is text ended by a tab, and a column is aligned over each block of consecutive lines that
//! have a cell in it. kubectl pads with two spaces; `oc`'s own describers pad with tabs (one
//! column of padding, rounded up to the next 8-column tab stop).

#[derive(Clone, Copy)]
enum Pad {
    Spaces,
    Tabs,
}

const TAB_WIDTH: usize = 8;

/// `text` with its tab-separated cells aligned by spaces, as kubectl's describers print.
pub fn format(text: &str) -> String {
    aligned(text, Pad::Spaces)
}

/// `text` with its cells aligned by tabs, as `oc`'s own describers print.
pub fn format_tabs(text: &str) -> String {
    aligned(text, Pad::Tabs)
}

fn aligned(text: &str, pad: Pad) -> String {
    let lines: Vec<Vec<&str>> = text.split_inclusive('\n').map(cells).collect();
    let mut out = String::new();
    let mut widths = Vec::new();
    block(&lines, 0, lines.len(), &mut widths, pad, &mut out);
    out
}

/// A line's cells: the tab-terminated ones, then the trailing text (with its newline).
fn cells(line: &str) -> Vec<&str> {
    line.split('\t').collect()
}

fn width(cell: &str) -> usize {
    cell.chars().count()
}

fn block(
    lines: &[Vec<&str>],
    mut from: usize,
    to: usize,
    widths: &mut Vec<usize>,
    pad: Pad,
    out: &mut String,
) {
    let padding = match pad {
        Pad::Spaces => 2,
        Pad::Tabs => 1,
    };
    let column = widths.len();
    let mut this = from;
    while this < to {
        if column >= lines[this].len() - 1 {
            this += 1;
            continue;
        }
        write(lines, from, this, widths, pad, out);
        from = this;
        let mut w = 0;
        while this < to && column < lines[this].len() - 1 {
            w = w.max(width(lines[this][column]) + padding);
            this += 1;
        }
        widths.push(w);
        block(lines, from, this, widths, pad, out);
        widths.pop();
        from = this;
    }
    write(lines, from, to, widths, pad, out);
}

fn write(
    lines: &[Vec<&str>],
    from: usize,
    to: usize,
    widths: &[usize],
    pad: Pad,
    out: &mut String,
) {
    for line in &lines[from..to] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j + 1 < line.len()
                && let Some(w) = widths.get(j)
            {
                let gap = w.saturating_sub(width(cell));
                match pad {
                    Pad::Spaces => out.push_str(&" ".repeat(gap)),
                    Pad::Tabs => {
                        let stop = w.div_ceil(TAB_WIDTH) * TAB_WIDTH;
                        let tabs = (stop - width(cell)).div_ceil(TAB_WIDTH);
                        out.push_str(&"\t".repeat(tabs));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn blocks_align_separately() {
        let text = "Name:\ta\nNamespace:\tdefault\nData\n  key:\tvalue\n  k:\tv\n";
        assert_eq!(
            super::format(text),
            "Name:       a\nNamespace:  default\nData\n  key:  value\n  k:    v\n"
        );
        assert_eq!(
            super::format_tabs("Name:\ta\nResource limits:\t<none>\n"),
            "Name:\t\t\ta\nResource limits:\t<none>\n"
        );
    }
}
