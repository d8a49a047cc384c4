//! The chart images decode as PNG of the documented size, with ink where the bars are.

use shequ_report::charts::{
    bar_center, bars_height, BARS_LEFT, BARS_RIGHT, BARS_W, RADAR_H, RADAR_W,
};
use shequ_report::{bars_png, radar_png};

struct Image {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
}

fn decode(bytes: &[u8]) -> Image {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    buf.truncate(info.buffer_size());
    assert_eq!(info.color_type, png::ColorType::Rgba);
    Image {
        width: info.width,
        height: info.height,
        rgba: buf,
    }
}

impl Image {
    fn px(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        self.rgba[i..i + 4].try_into().unwrap()
    }
    fn white(&self, x: u32, y: u32) -> bool {
        self.px(x, y) == [255, 255, 255, 255]
    }
}

/// With `SHEQU_REPORT_DUMP` set to a folder, the charts are kept there to look at.
fn dump(name: &str, png: &[u8]) {
    if let Some(dir) = std::env::var_os("SHEQU_REPORT_DUMP") {
        std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
    }
}

fn labels(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

#[test]
fn bars_are_drawn_to_scale_on_white() {
    let png = bars_png(
        &labels(&["加装电梯", "停车难", "Noise"]),
        &[100.0, 50.0, 0.0],
        100.0,
    );
    dump("bars.png", &png);
    let img = decode(&png);
    assert_eq!((img.width, img.height), (BARS_W, bars_height(3)));
    assert_eq!(img.height, 60 + 50 * 3);
    let span = BARS_RIGHT - BARS_LEFT;
    // The full bar reaches the right end, the half bar stops half-way, the zero bar is absent.
    let y0 = bar_center(0) as u32;
    let y1 = bar_center(1) as u32;
    let y2 = bar_center(2) as u32;
    assert!(!img.white((BARS_LEFT + span * 0.95) as u32, y0));
    assert!(!img.white((BARS_LEFT + span * 0.25) as u32, y1));
    assert!(!img.white((BARS_LEFT + span * 0.45) as u32, y1));
    assert!(img.white((BARS_LEFT + span * 0.75) as u32, y1));
    assert!(img.white((BARS_LEFT + span * 0.5) as u32, y2));
    // Bars are the accent colour, the background white.
    let [r, g, b, _] = img.px((BARS_LEFT + 20.0) as u32, y0);
    assert!(b > r && b > g, "bar colour {r},{g},{b}");
    assert!(img.white(5, 5));
}

#[test]
fn an_empty_bar_chart_is_still_an_image() {
    let img = decode(&bars_png(&[], &[], 0.0));
    assert_eq!((img.width, img.height), (BARS_W, 60));
}

#[test]
fn radar_fills_the_polygon_and_leaves_the_corners_white() {
    let names = labels(&["邻里互动", "社区认同", "外部联系", "参与与集体效能"]);
    let png = radar_png(
        &names,
        &[Some(80.0), Some(60.0), None, Some(40.0)],
        Some(60.0),
    );
    dump("radar.png", &png);
    let img = decode(&png);
    assert_eq!((img.width, img.height), (RADAR_W, RADAR_H));
    // The top axis carries 80: a point half-way up it is inside the filled polygon.
    let (cx, cy) = (RADAR_W / 2, RADAR_H / 2 + 10);
    let inside = img.px(cx, cy - 120);
    assert_ne!(inside, [255, 255, 255, 255]);
    assert!(inside[2] > inside[0], "tinted fill {inside:?}");
    assert!(img.white(3, 3));
    assert!(img.white(RADAR_W - 3, RADAR_H - 3));
}

#[test]
fn charts_draw_without_a_font() {
    // Whether or not a font is present, a chart with text never fails.
    let img = decode(&radar_png(
        &labels(&["a", "b", "c"]),
        &[None, None, None],
        None,
    ));
    assert_eq!(img.width, RADAR_W);
}
