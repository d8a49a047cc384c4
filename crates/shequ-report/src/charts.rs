//! Chart images for the reports, drawn with tiny-skia on a white background. Text is drawn
//! from a CJK font's glyph outlines (ab_glyph) turned into tiny-skia paths; without a font
//! the chart is drawn without text, since the table beside each chart carries the numbers.

use std::f32::consts::PI;
use std::sync::OnceLock;

use ab_glyph::{Font, FontVec, OutlineCurve};
use tiny_skia::{
    Color, FillRule, LineCap, Paint, PathBuilder, Pixmap, Rect, Stroke, StrokeDash, Transform,
};

/// Where a CJK font is looked for, after `SHEQU_REPORT_FONT`.
pub const FONT_CANDIDATES: [&str; 4] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    r"C:\Windows\Fonts\msyh.ttc",
    "/System/Library/Fonts/PingFang.ttc",
];
pub const FONT_ENV: &str = "SHEQU_REPORT_FONT";

static FONT: OnceLock<Option<FontVec>> = OnceLock::new();

/// The chart font, found and loaded once; `None` when no candidate is readable.
pub fn font() -> Option<&'static FontVec> {
    FONT.get_or_init(|| {
        let env = std::env::var(FONT_ENV)
            .ok()
            .filter(|s| !s.trim().is_empty());
        env.into_iter()
            .chain(FONT_CANDIDATES.iter().map(|s| s.to_string()))
            .find_map(|path| load_font(std::fs::read(path).ok()?))
    })
    .as_ref()
}

/// A font from a file's bytes: in a collection, the Simplified Chinese face when one is named
/// so (Noto Sans CJK holds JP, KR, SC, TC and HK faces), else the first.
fn load_font(data: Vec<u8>) -> Option<FontVec> {
    let index = collection_faces(&data)
        .and_then(|faces| {
            faces.iter().position(|f| {
                let f = f.to_ascii_uppercase();
                f.contains(" SC") || f.contains("GB") || f.contains(" CN")
            })
        })
        .unwrap_or(0) as u32;
    FontVec::try_from_vec_and_index(data.clone(), index)
        .ok()
        .or_else(|| FontVec::try_from_vec_and_index(data, 0).ok())
        .filter(|f| f.glyph_id('社').0 != 0 || f.glyph_id('A').0 != 0)
}

fn u16_at(d: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?) as usize)
}
fn u32_at(d: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?) as usize)
}

/// The family names (name id 1, Windows Unicode) of each face of a TrueType collection;
/// `None` for a single font or anything unreadable.
fn collection_faces(d: &[u8]) -> Option<Vec<String>> {
    if d.get(0..4)? != b"ttcf" {
        return None;
    }
    let count = u32_at(d, 8)?.min(64);
    (0..count)
        .map(|i| {
            let face = u32_at(d, 12 + 4 * i)?;
            Some(family_name(d, face).unwrap_or_default())
        })
        .collect()
}

fn family_name(d: &[u8], face: usize) -> Option<String> {
    let tables = u16_at(d, face + 4)?;
    let name = (0..tables).find_map(|t| {
        let rec = face + 12 + 16 * t;
        (d.get(rec..rec + 4)? == b"name").then_some(())?;
        u32_at(d, rec + 8)
    })?;
    let count = u16_at(d, name + 2)?;
    let strings = name + u16_at(d, name + 4)?;
    (0..count).find_map(|r| {
        let rec = name + 6 + 12 * r;
        let (platform, encoding, id) = (u16_at(d, rec)?, u16_at(d, rec + 2)?, u16_at(d, rec + 6)?);
        if platform != 3 || encoding != 1 || id != 1 {
            return None;
        }
        let (len, off) = (u16_at(d, rec + 8)?, u16_at(d, rec + 10)?);
        let raw = d.get(strings + off..strings + off + len)?;
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).ok()
    })
}

fn color(r: u8, g: u8, b: u8, a: u8) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(Color::from_rgba8(r, g, b, a));
    p.anti_alias = true;
    p
}

const INK: (u8, u8, u8) = (51, 51, 51);
const GRID: (u8, u8, u8) = (200, 200, 200);
const ACCENT: (u8, u8, u8) = (45, 110, 180);
const CUTOFF: (u8, u8, u8) = (200, 80, 40);

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Center,
    Right,
}

/// Width of a line of text at `size` px (0 without a font).
fn text_width(text: &str, size: f32) -> f32 {
    let Some(font) = font() else {
        return 0.0;
    };
    let scale = size / font.units_per_em().unwrap_or(1000.0);
    let mut w = 0.0;
    let mut prev = None;
    for ch in text.chars() {
        let id = font.glyph_id(ch);
        if let Some(p) = prev {
            w += font.kern_unscaled(p, id) * scale;
        }
        w += font.h_advance_unscaled(id) * scale;
        prev = Some(id);
    }
    w
}

/// Draws a line of text with its vertical centre at `y`; does nothing without a font.
fn draw_text(
    pm: &mut Pixmap,
    text: &str,
    x: f32,
    y: f32,
    size: f32,
    align: Align,
    rgb: (u8, u8, u8),
) {
    let Some(font) = font() else {
        return;
    };
    let scale = size / font.units_per_em().unwrap_or(1000.0);
    let width = text_width(text, size);
    let mut pen = match align {
        Align::Left => x,
        Align::Center => x - width / 2.0,
        Align::Right => x - width,
    };
    // Baseline so that the em box is centred on y (CJK ideographs fill most of it).
    let baseline = y + size * 0.38;
    let mut pb = PathBuilder::new();
    let mut prev = None;
    for ch in text.chars() {
        let id = font.glyph_id(ch);
        if let Some(p) = prev {
            pen += font.kern_unscaled(p, id) * scale;
        }
        if let Some(outline) = font.outline(id) {
            let pt = |p: ab_glyph::Point| (pen + p.x * scale, baseline - p.y * scale);
            let mut last: Option<(f32, f32)> = None;
            for curve in &outline.curves {
                let (start, end) = match curve {
                    OutlineCurve::Line(a, b) => (*a, *b),
                    OutlineCurve::Quad(a, _, c) => (*a, *c),
                    OutlineCurve::Cubic(a, _, _, d) => (*a, *d),
                };
                let s = pt(start);
                let joined =
                    last.is_some_and(|l| (l.0 - s.0).abs() < 1e-3 && (l.1 - s.1).abs() < 1e-3);
                if !joined {
                    if last.is_some() {
                        pb.close();
                    }
                    pb.move_to(s.0, s.1);
                }
                match curve {
                    OutlineCurve::Line(_, b) => {
                        let b = pt(*b);
                        pb.line_to(b.0, b.1);
                    }
                    OutlineCurve::Quad(_, b, c) => {
                        let (b, c) = (pt(*b), pt(*c));
                        pb.quad_to(b.0, b.1, c.0, c.1);
                    }
                    OutlineCurve::Cubic(_, b, c, d) => {
                        let (b, c, d) = (pt(*b), pt(*c), pt(*d));
                        pb.cubic_to(b.0, b.1, c.0, c.1, d.0, d.1);
                    }
                }
                last = Some(pt(end));
            }
            if last.is_some() {
                pb.close();
            }
        }
        pen += font.h_advance_unscaled(id) * scale;
        prev = Some(id);
    }
    if let Some(path) = pb.finish() {
        let paint = color(rgb.0, rgb.1, rgb.2, 255);
        pm.fill_path(
            &path,
            &paint,
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
}

/// Shortens a label to fit `max` px, with an ellipsis.
fn fit(text: &str, size: f32, max: f32) -> String {
    if text_width(text, size) <= max {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let s: String = chars.iter().collect::<String>() + "…";
        if text_width(&s, size) <= max {
            return s;
        }
    }
    String::new()
}

fn white(w: u32, h: u32) -> Pixmap {
    let mut pm = Pixmap::new(w.max(1), h.max(1)).expect("non-zero chart size");
    pm.fill(Color::WHITE);
    pm
}

fn encode(pm: &Pixmap) -> Vec<u8> {
    // Encoding an in-memory RGBA buffer cannot fail short of running out of memory.
    pm.encode_png().unwrap_or_default()
}

pub const RADAR_W: u32 = 1200;
pub const RADAR_H: u32 = 900;

/// A radar chart on 0–100: one axis per label, rings at 20…100, the values as a filled
/// polygon (a missing value sits at the centre), the cut-off as a dashed ring.
pub fn radar_png(labels: &[String], values: &[Option<f64>], cutoff: Option<f64>) -> Vec<u8> {
    let mut pm = white(RADAR_W, RADAR_H);
    let (cx, cy) = (RADAR_W as f32 / 2.0, RADAR_H as f32 / 2.0 + 10.0);
    let radius = 300.0_f32;
    let n = labels.len().max(values.len()).max(3);
    let angle = |i: usize| -PI / 2.0 + 2.0 * PI * i as f32 / n as f32;
    let at = |i: usize, v: f32| {
        let a = angle(i);
        (
            cx + radius * v / 100.0 * a.cos(),
            cy + radius * v / 100.0 * a.sin(),
        )
    };
    let polygon = |v: &dyn Fn(usize) -> f32| {
        let mut pb = PathBuilder::new();
        for i in 0..n {
            let (x, y) = at(i, v(i));
            if i == 0 {
                pb.move_to(x, y);
            } else {
                pb.line_to(x, y);
            }
        }
        pb.close();
        pb.finish()
    };
    let grid = color(GRID.0, GRID.1, GRID.2, 255);
    let thin = Stroke {
        width: 2.0,
        ..Stroke::default()
    };
    for ring in [20.0, 40.0, 60.0, 80.0, 100.0] {
        if let Some(p) = polygon(&|_| ring) {
            pm.stroke_path(&p, &grid, &thin, Transform::identity(), None);
        }
        let (x, y) = at(0, ring);
        draw_text(
            &mut pm,
            &format!("{ring:.0}"),
            x + 8.0,
            y,
            22.0,
            Align::Left,
            (130, 130, 130),
        );
    }
    for i in 0..n {
        let mut pb = PathBuilder::new();
        pb.move_to(cx, cy);
        let (x, y) = at(i, 100.0);
        pb.line_to(x, y);
        if let Some(p) = pb.finish() {
            pm.stroke_path(&p, &grid, &thin, Transform::identity(), None);
        }
    }
    if let Some(c) = cutoff.filter(|c| c.is_finite()) {
        let c = c.clamp(0.0, 100.0) as f32;
        if let Some(p) = polygon(&|_| c) {
            let stroke = Stroke {
                width: 3.0,
                dash: StrokeDash::new(vec![14.0, 10.0], 0.0),
                ..Stroke::default()
            };
            let paint = color(CUTOFF.0, CUTOFF.1, CUTOFF.2, 255);
            pm.stroke_path(&p, &paint, &stroke, Transform::identity(), None);
        }
    }
    let value = |i: usize| {
        values
            .get(i)
            .copied()
            .flatten()
            .filter(|v| v.is_finite())
            .map_or(0.0, |v| v.clamp(0.0, 100.0) as f32)
    };
    if let Some(p) = polygon(&value) {
        let fill = color(ACCENT.0, ACCENT.1, ACCENT.2, 90);
        pm.fill_path(&p, &fill, FillRule::Winding, Transform::identity(), None);
        let edge = color(ACCENT.0, ACCENT.1, ACCENT.2, 255);
        let stroke = Stroke {
            width: 4.0,
            line_join: tiny_skia::LineJoin::Round,
            ..Stroke::default()
        };
        pm.stroke_path(&p, &edge, &stroke, Transform::identity(), None);
    }
    for i in 0..n {
        if values.get(i).copied().flatten().is_some() {
            let (x, y) = at(i, value(i));
            if let Some(p) = PathBuilder::from_circle(x, y, 8.0) {
                let dot = color(ACCENT.0, ACCENT.1, ACCENT.2, 255);
                pm.fill_path(&p, &dot, FillRule::Winding, Transform::identity(), None);
            }
        }
        let Some(label) = labels.get(i) else { continue };
        let a = angle(i);
        let (x, y) = (
            cx + (radius + 40.0) * a.cos(),
            cy + (radius + 40.0) * a.sin(),
        );
        let align = if a.cos() > 0.2 {
            Align::Left
        } else if a.cos() < -0.2 {
            Align::Right
        } else {
            Align::Center
        };
        let text = match values.get(i).copied().flatten() {
            Some(v) => format!("{label} {v:.1}"),
            None => label.clone(),
        };
        // Keep the label inside the image.
        let w = text_width(&text, 30.0);
        let left = match align {
            Align::Left => x,
            Align::Center => x - w / 2.0,
            Align::Right => x - w,
        };
        let shift = (12.0 - left).max(0.0) - (left + w - (RADAR_W as f32 - 12.0)).max(0.0);
        draw_text(&mut pm, &text, x + shift, y, 30.0, align, INK);
    }
    encode(&pm)
}

pub const BARS_W: u32 = 1400;

/// Height of a bar chart of `n` bars.
pub fn bars_height(n: usize) -> u32 {
    60 + 50 * n as u32
}

/// The left edge and full width of the bar area (for tests that look for the bars).
pub const BARS_LEFT: f32 = 460.0;
pub const BARS_RIGHT: f32 = 1260.0;
/// The vertical centre of bar `i`.
pub fn bar_center(i: usize) -> f32 {
    30.0 + 50.0 * i as f32 + 25.0
}

/// Horizontal bars, `max` at full width, labels on the left and values at the end.
pub fn bars_png(labels: &[String], values: &[f64], max: f64) -> Vec<u8> {
    let n = labels.len().max(values.len());
    let mut pm = white(BARS_W, bars_height(n));
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
            .max(1.0)
    };
    let span = BARS_RIGHT - BARS_LEFT;
    let axis = color(INK.0, INK.1, INK.2, 255);
    let bar = color(ACCENT.0, ACCENT.1, ACCENT.2, 255);
    for i in 0..n {
        let y = bar_center(i);
        if let Some(label) = labels.get(i) {
            let label = fit(label, 28.0, BARS_LEFT - 30.0);
            draw_text(
                &mut pm,
                &label,
                BARS_LEFT - 15.0,
                y,
                28.0,
                Align::Right,
                INK,
            );
        }
        let v = values
            .get(i)
            .copied()
            .filter(|v| v.is_finite())
            .unwrap_or(0.0);
        let w = (v.max(0.0) / max).min(1.0) as f32 * span;
        if let Some(r) = Rect::from_xywh(BARS_LEFT, y - 17.0, w.max(0.0), 34.0) {
            if w > 0.0 {
                pm.fill_rect(r, &bar, Transform::identity(), None);
            }
        }
        draw_text(
            &mut pm,
            &format!("{v:.1}"),
            BARS_LEFT + w + 10.0,
            y,
            26.0,
            Align::Left,
            INK,
        );
    }
    let mut pb = PathBuilder::new();
    pb.move_to(BARS_LEFT, 20.0);
    pb.line_to(BARS_LEFT, bars_height(n) as f32 - 20.0);
    if let Some(p) = pb.finish() {
        let stroke = Stroke {
            width: 2.0,
            line_cap: LineCap::Butt,
            ..Stroke::default()
        };
        pm.stroke_path(&p, &axis, &stroke, Transform::identity(), None);
    }
    encode(&pm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_noto_collection_yields_its_simplified_chinese_face() {
        let path = FONT_CANDIDATES[0];
        let Ok(data) = std::fs::read(path) else {
            eprintln!("{path} absent; skipped");
            return;
        };
        let faces = collection_faces(&data).expect("a collection");
        assert!(faces.iter().any(|f| f.contains("SC")), "{faces:?}");
        let font = load_font(data).expect("font");
        assert_ne!(font.glyph_id('社').0, 0);
    }
}
