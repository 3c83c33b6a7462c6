//! ISO 8601 durations as xAPI writes them in `result.duration`, strictly.
//!
//! Accepted: `P[nW]` alone, or `P[nD][T[nH][nM][n[.f]S]]` with at least one component, every
//! `n` a run of ASCII digits, a fraction (`.` then digits) only on the seconds. Refused, so the
//! field becomes `None` and is counted: years and months (their length in seconds depends on
//! the calendar), signs, commas, empty components (`PT`, `P`), components out of order or
//! repeated, anything trailing, and totals that are not finite.

/// Seconds in `s`, or `None` when `s` is not a duration of the accepted form.
pub fn parse_duration(s: &str) -> Option<f64> {
    let rest = s.strip_prefix('P')?;
    if let Some(weeks) = rest.strip_suffix('W') {
        return finite(digits(weeks)? * 604_800.0);
    }
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) => {
            if time.is_empty() {
                return None;
            }
            (date, Some(time))
        }
        None => (rest, None),
    };
    let mut total = 0.0;
    let mut components = 0;
    if !date.is_empty() {
        let days = date.strip_suffix('D')?;
        total += digits(days)? * 86_400.0;
        components += 1;
    }
    if let Some(mut time) = time {
        for (unit, factor) in [('H', 3600.0), ('M', 60.0)] {
            if let Some((n, after)) = time.split_once(unit) {
                total += digits(n)? * factor;
                time = after;
                components += 1;
            }
        }
        if !time.is_empty() {
            let seconds = time.strip_suffix('S')?;
            total += decimal(seconds)?;
            components += 1;
        }
    }
    if components == 0 {
        return None;
    }
    finite(total)
}

/// `secs` written as `PT{secs}S`, the shortest form that [`parse_duration`] reads back to the
/// same value; `None` for negative or non-finite values, which have no ISO 8601 form.
pub fn format_duration(secs: f64) -> Option<String> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    // `{}` never uses an exponent for f64 and round-trips exactly through `str::parse`.
    let mut text = format!("{secs}");
    if text.starts_with('-') {
        // -0.0
        text.remove(0);
    }
    Some(format!("PT{text}S"))
}

/// A non-empty run of ASCII digits.
fn digits(s: &str) -> Option<f64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Digits, optionally followed by `.` and at least one digit.
fn decimal(s: &str) -> Option<f64> {
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    digits(int)?;
    if let Some(frac) = frac {
        digits(frac)?;
    }
    s.parse().ok()
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn well_formed_durations_are_read_in_seconds() {
        let cases = [
            ("PT0S", 0.0),
            ("PT1M30.5S", 90.5),
            ("PT1H", 3600.0),
            ("PT1H0M0S", 3600.0),
            ("P1D", 86_400.0),
            ("P1DT1S", 86_401.0),
            ("P2W", 1_209_600.0),
            ("PT0.01S", 0.01),
            ("PT36H", 129_600.0),
            ("PT007M", 420.0),
            ("P1DT2H3M4.25S", 93_784.25),
        ];
        for (text, secs) in cases {
            assert_eq!(parse_duration(text), Some(secs), "{text}");
        }
    }

    #[test]
    fn garbage_and_calendar_units_are_refused() {
        for text in [
            "", "P", "PT", "T1S", "1S", "PT1", "PT1.S", "PT.5S", "PT1.5M", "P1Y", "P1M", "P1.5D",
            "PT-1S", "-PT1S", "PT+1S", "PT1,5S", "PT1S1S", "PT1S ", " PT1S", "PT1M1H", "P1DT",
            "P1W1D", "PTS", "PT1HS", "pt1s", "PT١S", "P1WT1S", "PT1H1H",
        ] {
            assert_eq!(parse_duration(text), None, "{text:?} accepted");
        }
        let huge = format!("PT{}S", "9".repeat(400));
        assert_eq!(parse_duration(&huge), None, "infinite total accepted");
    }

    #[test]
    fn negative_and_non_finite_values_have_no_form() {
        assert_eq!(format_duration(-1.0), None);
        assert_eq!(format_duration(f64::NAN), None);
        assert_eq!(format_duration(f64::INFINITY), None);
        assert_eq!(format_duration(-0.0).as_deref(), Some("PT0S"));
        assert_eq!(format_duration(90.5).as_deref(), Some("PT90.5S"));
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_is_finite_and_non_negative(s in ".{0,40}") {
            if let Some(secs) = parse_duration(&s) {
                prop_assert!(secs.is_finite() && secs >= 0.0);
            }
        }

        #[test]
        fn duration_shaped_text_never_panics(s in "P[0-9WDTHMS.]{0,24}") {
            if let Some(secs) = parse_duration(&s) {
                prop_assert!(secs.is_finite() && secs >= 0.0);
            }
        }

        #[test]
        fn components_add_up(d in 0u32..1000, h in 0u32..100, m in 0u32..100, s in 0u32..100, cs in 0u32..100) {
            let text = format!("P{d}DT{h}H{m}M{s}.{cs:02}S");
            let expected = f64::from(d) * 86_400.0 + f64::from(h) * 3600.0 + f64::from(m) * 60.0
                + format!("{s}.{cs:02}").parse::<f64>().unwrap_or(f64::NAN);
            prop_assert_eq!(parse_duration(&text), Some(expected));
        }

        #[test]
        fn formatted_durations_read_back_exactly(secs in 0.0f64..1e15) {
            let text = format_duration(secs);
            prop_assert!(text.is_some());
            prop_assert_eq!(text.as_deref().and_then(parse_duration), Some(secs));
        }
    }
}
