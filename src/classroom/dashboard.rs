//! The instructor's dashboard: one page, attendees × exercises, rendered here with every
//! attendee's text escaped, then kept live by `dashboard.js` (server-sent events; it writes
//! text with `textContent` only). The page's Content-Security-Policy allows no inline script.

use std::fmt::Write;

use crate::classroom::room::{duration, label, AttendeeView, CellState, RoomView};

pub const SCRIPT: &str = include_str!("dashboard.js");
pub const STYLE: &str = include_str!("dashboard.css");

/// `s` as HTML text or attribute value: `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The answer to a dashboard request without the right key.
pub fn needs_key() -> String {
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>Classroom</title></head><body>\
     <h1>This dashboard needs its key</h1><p>Open the address <code>workbook classroom serve</code> \
     printed (it ends in <code>?key=…</code>); the browser then keeps the key.</p></body></html>\n"
        .to_string()
}

/// How long ago an attendee's last record arrived: `now` under a minute, else `12 min ago`.
pub fn seen(secs: u64) -> String {
    if secs < 60 {
        "now".to_string()
    } else {
        format!("{} ago", duration(secs))
    }
}

fn row(view: &RoomView, a: &AttendeeView, out: &mut String) {
    let stuck = a.current.as_ref().is_some_and(|c| c.stuck);
    let _ = write!(
        out,
        "<tr data-attendee=\"{}\"{}><th class=\"name\" scope=\"row\">{}</th>",
        a.id,
        if stuck { " class=\"stuck\"" } else { "" },
        escape(&a.name)
    );
    for (c, ex) in a.cells.iter().zip(&view.exercises) {
        let text = match c.state {
            CellState::None => "·".to_string(),
            CellState::Done => "✓".to_string(),
            CellState::Working => format!("{}/{}", c.passed, c.total),
        };
        let here = a.current.as_ref().is_some_and(|k| k.exercise == c.exercise);
        let _ = write!(
            out,
            "<td class=\"cell {}{}\" data-exercise=\"{}\" data-state=\"{}\" title=\"{}: {}/{} steps\">{}</td>",
            c.state.as_str(),
            if here { " here" } else { "" },
            escape(&c.exercise),
            c.state.as_str(),
            escape(&ex.title),
            c.passed,
            c.total,
            text
        );
    }
    let seen = a
        .last_seen
        .map(|t| seen(view.generated_at.saturating_sub(t)))
        .unwrap_or_else(|| "joined".to_string());
    let _ = write!(out, "<td class=\"seen\">{seen}</td>");
    let now_on = match &a.current {
        Some(c) => format!(
            "{} · {} ({})",
            escape(label(&c.exercise)),
            escape(&c.step_title),
            duration(c.failing_for)
        ),
        None => String::new(),
    };
    let _ = write!(out, "<td class=\"on\">{now_on}</td></tr>");
}

/// The whole page, as of `view`.
pub fn page(view: &RoomView, join_url: &str, join_code: &str) -> String {
    let mut out = String::with_capacity(4096 + view.attendees.len() * 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Classroom · workbook</title><link rel=\"stylesheet\" href=\"dashboard.css\"></head>\
         <body><header><h1>Classroom</h1><p class=\"join\">Attendees join with \
         <code>workbook classroom join {} {} --name \"NAME\"</code></p>\
         <p class=\"live\" id=\"live\">not live: reload the page</p></header>",
        escape(join_url),
        escape(join_code)
    );
    let stuck: Vec<&AttendeeView> = view
        .attendees
        .iter()
        .filter(|a| a.current.as_ref().is_some_and(|c| c.stuck))
        .collect();
    let _ = write!(
        out,
        "<section class=\"summary\"><p id=\"counts\">{} attendees · stuck means failing the same step for {} or more</p>",
        view.attendees.len(),
        duration(view.stuck_after)
    );
    out.push_str("<div class=\"panels\"><div><h2>The room is on</h2><ol id=\"hot\">");
    for h in &view.hot_steps {
        let _ = write!(out, "<li>{}</li>", escape(&h.line()));
    }
    out.push_str("</ol></div><div><h2>Stuck</h2><ul id=\"stuck\">");
    for a in &stuck {
        if let Some(c) = &a.current {
            let _ = write!(
                out,
                "<li><b>{}</b>: {} · {} for {}</li>",
                escape(&a.name),
                escape(label(&c.exercise)),
                escape(&c.step_title),
                duration(c.failing_for)
            );
        }
    }
    out.push_str("</ul></div></div></section>");
    out.push_str("<table id=\"grid\"><thead><tr><th scope=\"col\">Attendee</th>");
    for ex in &view.exercises {
        let _ = write!(
            out,
            "<th scope=\"col\" title=\"{}\">{}</th>",
            escape(&ex.title),
            escape(label(&ex.slug))
        );
    }
    out.push_str("<th scope=\"col\">Seen</th><th scope=\"col\">Now on</th></tr></thead><tbody>");
    for a in &view.attendees {
        row(view, a, &mut out);
    }
    out.push_str("</tbody><tfoot><tr><th scope=\"row\">Done</th>");
    for n in &view.done {
        let _ = write!(out, "<td>{n}</td>");
    }
    out.push_str(
        "<td></td><td></td></tr></tfoot></table><section id=\"detail\" hidden></section>\
         <footer><a id=\"csv\" href=\"export.csv\">CSV</a> · <a id=\"json\" href=\"export.json\">JSON</a></footer>",
    );
    // The room as data (never run: the policy allows no inline script) for the script's first
    // render, with `<` escaped so that no text in it can close the element.
    let data = serde_json::to_string(view)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let _ = writeln!(
        out,
        "<script type=\"application/json\" id=\"room\">{data}</script>\
         <script src=\"dashboard.js\"></script></body></html>"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classroom::room::{Attendee, ExerciseInfo, Room, StepInfo};

    #[test]
    fn names_are_text_not_markup() {
        let mut room = Room::new(vec![ExerciseInfo {
            slug: "01-a".into(),
            title: "A <b>".into(),
            steps: vec![StepInfo {
                id: "s".into(),
                title: "S".into(),
            }],
        }]);
        room.add(Attendee::new(1, "<script>alert(1)</script>".into(), 0));
        room.add(Attendee::new(
            2,
            "\"><img src=x onerror=alert(2)>".into(),
            0,
        ));
        let html = page(&room.view(0, 600), "http://10.0.0.5:7300", "ABCD-EF");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<img src=x"));
        assert!(html.contains("&quot;&gt;&lt;img"));
        assert!(html.contains("A &lt;b&gt;"));
        assert_eq!(
            html.matches("<script").count(),
            2,
            "the room's data and dashboard.js"
        );
        assert!(html.contains("\\u003cscript\\u003ealert(1)"));
    }
}
