//! Event-camera data (address-event representation) and tonic-style transforms:
//! time window, spatial crop, denoise, downsample, polarity merge and binning into
//! per-step channel lists.
//!
//! A channel index flattens `(p, y, x)` as `(p * height + y) * width + x`, the
//! `[p, y, x]` frame order of tonic's `ToFrame` and of NALSM's N-MNIST input layer.
use crate::error::{Error, Result};

/// Size of an event sensor: `width × height` pixels with `polarities` channels
/// each (tonic's `sensor_size = (W, H, P)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sensor {
    /// Pixels along x.
    pub width: u16,
    /// Pixels along y.
    pub height: u16,
    /// Polarity channels (2 for ON/OFF cameras, 1 for merged or audio data).
    pub polarities: u8,
}

impl Sensor {
    /// A `width × height × polarities` sensor.
    pub const fn new(width: u16, height: u16, polarities: u8) -> Self {
        Self {
            width,
            height,
            polarities,
        }
    }

    /// Number of input channels, `width * height * polarities`.
    ///
    /// ```
    /// use astroglia::data::events::Sensor;
    /// assert_eq!(Sensor::new(34, 34, 2).n_channels(), 2312);
    /// ```
    pub fn n_channels(&self) -> usize {
        self.width as usize * self.height as usize * self.polarities as usize
    }

    /// Whether the event's address lies on this sensor.
    pub fn contains(&self, e: &Event) -> bool {
        e.x < self.width && e.y < self.height && e.p < self.polarities
    }

    /// Channel of an event on this sensor: `(p * height + y) * width + x`.
    ///
    /// ```
    /// use astroglia::data::events::{Event, Sensor};
    /// let s = Sensor::new(34, 34, 2);
    /// let e = Event { x: 3, y: 2, p: 1, t_us: 0 };
    /// assert_eq!(s.channel(&e), (34 + 2) * 34 + 3);
    /// ```
    pub fn channel(&self, e: &Event) -> u32 {
        ((e.p as u32 * self.height as u32 + e.y as u32) * self.width as u32) + e.x as u32
    }
}

/// One event: pixel address, polarity and time in µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    /// Column.
    pub x: u16,
    /// Row.
    pub y: u16,
    /// Polarity (0 = OFF, 1 = ON for cameras).
    pub p: u8,
    /// Time stamp in µs.
    pub t_us: u64,
}

/// Which neighbouring pixels count as support in [`Events::denoise`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Neighbourhood {
    /// Left, right, up, down: what tonic's `Denoise` checks.
    Four,
    /// The four above plus the diagonals.
    Eight,
}

/// How [`Events::bin`] maps a time to a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// `step = (t - t0) / dt` (tonic `ToFrame`).
    Floor,
    /// `step = round((t - t0) / dt)`, halves up (NALSM: `t_us / 1000` rounded).
    Nearest,
}

/// Events of one recording on one sensor, in time order as read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Events {
    /// The sensor the addresses refer to.
    pub sensor: Sensor,
    /// The events.
    pub events: Vec<Event>,
}

impl Events {
    /// Events on `sensor`; every event must lie on it.
    ///
    /// ```
    /// use astroglia::data::events::{Event, Events, Sensor};
    /// let e = Event { x: 40, y: 0, p: 0, t_us: 5 };
    /// let err = Events::new(Sensor::new(34, 34, 2), vec![e]).unwrap_err();
    /// assert_eq!(err.to_string(), "events: event 0 (x 40, y 0, p 0) lies outside the 34x34x2 sensor");
    /// ```
    pub fn new(sensor: Sensor, events: Vec<Event>) -> Result<Self> {
        if let Some((i, e)) = events.iter().enumerate().find(|(_, e)| !sensor.contains(e)) {
            return Err(Error::argument(
                "events",
                format!(
                    "event {i} (x {}, y {}, p {}) lies outside the {}x{}x{} sensor",
                    e.x, e.y, e.p, sensor.width, sensor.height, sensor.polarities
                ),
            ));
        }
        Ok(Self { sensor, events })
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Same sensor, other events.
    fn with(&self, events: Vec<Event>) -> Events {
        Events {
            sensor: self.sensor,
            events,
        }
    }

    /// Events with `start_us <= t < end_us`; time stamps are kept (tonic `CropTime`).
    ///
    /// ```
    /// use astroglia::data::events::{Event, Events, Sensor};
    /// let ev = |t_us| Event { x: 0, y: 0, p: 0, t_us };
    /// let all = Events::new(Sensor::new(1, 1, 1), vec![ev(5), ev(10), ev(20)]).unwrap();
    /// assert_eq!(all.time_window(10, 20).events, vec![ev(10)]);
    /// ```
    pub fn time_window(&self, start_us: u64, end_us: u64) -> Events {
        self.with(
            self.events
                .iter()
                .filter(|e| (start_us..end_us).contains(&e.t_us))
                .copied()
                .collect(),
        )
    }

    /// Events inside the `width × height` box at `(x0, y0)`, re-addressed relative
    /// to the box, on a `width × height` sensor (tonic `CenterCrop`, any corner).
    /// The box must lie on the sensor.
    ///
    /// ```
    /// use astroglia::data::events::{Event, Events, Sensor};
    /// let ev = |x, y| Event { x, y, p: 0, t_us: 0 };
    /// let all = Events::new(Sensor::new(34, 34, 2), vec![ev(3, 3), ev(10, 12)]).unwrap();
    /// let c = all.crop(3, 3, 28, 28).unwrap();
    /// assert_eq!((c.sensor, c.events), (Sensor::new(28, 28, 2), vec![ev(0, 0), ev(7, 9)]));
    /// ```
    pub fn crop(&self, x0: u16, y0: u16, width: u16, height: u16) -> Result<Events> {
        let s = self.sensor;
        if width == 0
            || height == 0
            || x0 as u32 + width as u32 > s.width as u32
            || y0 as u32 + height as u32 > s.height as u32
        {
            return Err(Error::argument(
                "crop box",
                format!(
                    "{width}x{height} at ({x0}, {y0}) does not fit the {}x{} sensor",
                    s.width, s.height
                ),
            ));
        }
        let events = self
            .events
            .iter()
            .filter(|e| e.x >= x0 && e.x - x0 < width && e.y >= y0 && e.y - y0 < height)
            .map(|e| Event {
                x: e.x - x0,
                y: e.y - y0,
                ..*e
            })
            .collect();
        Ok(Events {
            sensor: Sensor::new(width, height, s.polarities),
            events,
        })
    }

    /// Drops isolated events: an event survives only if a neighbouring pixel (of
    /// any polarity, not the event's own pixel) had an event at most
    /// `filter_time_us` earlier: `0 <= t - t_neighbour < filter_time_us`. Events
    /// are taken in time order (a stable sort of a copy if they are not sorted), so
    /// an event is supported only by events that came before it in that order.
    ///
    /// This is tonic's `Denoise` with one difference: tonic treats every pixel as
    /// having fired at time 0, so it keeps every event earlier than `filter_time`;
    /// here a pixel that never fired supports nothing.
    ///
    /// ```
    /// use astroglia::data::events::{Event, Events, Neighbourhood, Sensor};
    /// let ev = |x, y, t_us| Event { x, y, p: 0, t_us };
    /// // (1,1) is supported by (2,1) 50 µs before; the diagonal (3,2) only by (2,1)
    /// // in the 8-neighbourhood; (9,9) is alone.
    /// let all = vec![ev(2, 1, 100), ev(1, 1, 150), ev(3, 2, 160), ev(9, 9, 170)];
    /// let e = Events::new(Sensor::new(10, 10, 1), all).unwrap();
    /// assert_eq!(e.denoise(100, Neighbourhood::Four).events, vec![ev(1, 1, 150)]);
    /// assert_eq!(e.denoise(100, Neighbourhood::Eight).events, vec![ev(1, 1, 150), ev(3, 2, 160)]);
    /// ```
    pub fn denoise(&self, filter_time_us: u64, neighbourhood: Neighbourhood) -> Events {
        let (w, h) = (self.sensor.width as usize, self.sensor.height as usize);
        // Latest time each pixel fired, or None.
        let mut last: Vec<Option<u64>> = vec![None; w * h];
        let mut order: Vec<usize> = (0..self.events.len()).collect();
        order.sort_by_key(|&i| self.events[i].t_us);
        let offsets: &[(i32, i32)] = match neighbourhood {
            Neighbourhood::Four => &[(-1, 0), (1, 0), (0, -1), (0, 1)],
            Neighbourhood::Eight => &[
                (-1, -1),
                (0, -1),
                (1, -1),
                (-1, 0),
                (1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
            ],
        };
        let mut keep = vec![false; self.events.len()];
        for i in order {
            let e = self.events[i];
            let (x, y) = (e.x as i32, e.y as i32);
            keep[i] = offsets.iter().any(|&(dx, dy)| {
                let (nx, ny) = (x + dx, y + dy);
                nx >= 0
                    && ny >= 0
                    && (nx as usize) < w
                    && (ny as usize) < h
                    && last[ny as usize * w + nx as usize]
                        .is_some_and(|tn| e.t_us - tn < filter_time_us)
            });
            if (e.x as usize) < w && (e.y as usize) < h {
                last[e.y as usize * w + e.x as usize] = Some(e.t_us);
            }
        }
        self.with(
            self.events
                .iter()
                .zip(&keep)
                .filter(|&(_, &k)| k)
                .map(|(e, _)| *e)
                .collect(),
        )
    }

    /// Spatial downsampling by an integer factor: `x / factor`, `y / factor` on a
    /// `ceil(width / factor) × ceil(height / factor)` sensor. Every event is kept
    /// (tonic `Downsample(spatial_factor = 1 / factor)`).
    ///
    /// ```
    /// use astroglia::data::events::{Event, Events, Sensor};
    /// let e = Events::new(Sensor::new(34, 34, 2), vec![Event { x: 33, y: 5, p: 1, t_us: 0 }]).unwrap();
    /// let d = e.downsample(4).unwrap();
    /// assert_eq!(d.sensor, Sensor::new(9, 9, 2));
    /// assert_eq!((d.events[0].x, d.events[0].y), (8, 1));
    /// ```
    pub fn downsample(&self, factor: u16) -> Result<Events> {
        if factor == 0 {
            return Err(Error::Range {
                what: "downsample factor".into(),
                value: 0.0,
                expected: "at least 1".into(),
            });
        }
        let s = self.sensor;
        let sensor = Sensor::new(
            s.width.div_ceil(factor),
            s.height.div_ceil(factor),
            s.polarities,
        );
        let events = self
            .events
            .iter()
            .map(|e| Event {
                x: e.x / factor,
                y: e.y / factor,
                ..*e
            })
            .collect();
        Ok(Events { sensor, events })
    }

    /// All events on polarity 0 of a one-polarity sensor (tonic `MergePolarities`).
    ///
    /// ```
    /// use astroglia::data::events::{Event, Events, Sensor};
    /// let e = Events::new(Sensor::new(2, 2, 2), vec![Event { x: 1, y: 1, p: 1, t_us: 0 }]).unwrap();
    /// let m = e.merge_polarities();
    /// assert_eq!((m.sensor.n_channels(), m.events[0].p), (4, 0));
    /// ```
    pub fn merge_polarities(&self) -> Events {
        Events {
            sensor: Sensor::new(self.sensor.width, self.sensor.height, 1),
            events: self.events.iter().map(|e| Event { p: 0, ..*e }).collect(),
        }
    }

    /// Bins events into `n_steps` steps of `dt_us` starting at `t0_us`: element `k`
    /// lists, sorted and without repeats, the channels ([`Sensor::channel`]) with
    /// at least one event in step `k` (binary per step, as NALSM feeds N-MNIST).
    /// Events before `t0_us`, past the last step, or off the sensor are dropped.
    ///
    /// ```
    /// use astroglia::data::events::{Event, Events, Rounding, Sensor};
    /// let ev = |x, t_us| Event { x, y: 0, p: 0, t_us };
    /// let e = Events::new(Sensor::new(4, 1, 1), vec![ev(1, 400), ev(2, 600), ev(2, 900), ev(3, 5000)]).unwrap();
    /// assert_eq!(e.bin(0, 1000, 2, Rounding::Floor).unwrap(), vec![vec![1, 2], vec![]]);
    /// assert_eq!(e.bin(0, 1000, 2, Rounding::Nearest).unwrap(), vec![vec![1], vec![2]]);
    /// ```
    pub fn bin(
        &self,
        t0_us: u64,
        dt_us: u64,
        n_steps: usize,
        rounding: Rounding,
    ) -> Result<Vec<Vec<u32>>> {
        if dt_us == 0 {
            return Err(Error::Range {
                what: "bin width dt_us".into(),
                value: 0.0,
                expected: "a positive width".into(),
            });
        }
        let mut steps = vec![Vec::new(); n_steps];
        for e in self.events.iter().filter(|e| self.sensor.contains(e)) {
            let Some(dt) = e.t_us.checked_sub(t0_us) else {
                continue;
            };
            let k = match rounding {
                Rounding::Floor => dt / dt_us,
                Rounding::Nearest => dt / dt_us + u64::from(dt % dt_us >= dt_us.div_ceil(2)),
            };
            if let Some(step) = usize::try_from(k).ok().and_then(|k| steps.get_mut(k)) {
                step.push(self.sensor.channel(e));
            }
        }
        for s in &mut steps {
            s.sort_unstable();
            s.dedup();
        }
        Ok(steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(x: u16, y: u16, p: u8, t_us: u64) -> Event {
        Event { x, y, p, t_us }
    }

    #[test]
    fn channels_cover_the_sensor_once() {
        let s = Sensor::new(5, 3, 2);
        let mut seen = vec![false; s.n_channels()];
        for p in 0..2 {
            for y in 0..3 {
                for x in 0..5 {
                    let c = s.channel(&ev(x, y, p, 0)) as usize;
                    assert!(!seen[c], "channel {c} twice");
                    seen[c] = true;
                }
            }
        }
        assert!(seen.iter().all(|&b| b));
    }

    #[test]
    fn denoise_window_is_strict_and_ignores_own_pixel() {
        let s = Sensor::new(4, 4, 2);
        // Own pixel repeated: never support.
        let e = Events::new(s, vec![ev(1, 1, 0, 0), ev(1, 1, 1, 10)]).unwrap();
        assert!(e.denoise(100, Neighbourhood::Eight).is_empty());
        // Neighbour exactly filter_time earlier: outside the window.
        let e = Events::new(s, vec![ev(1, 1, 0, 0), ev(2, 1, 0, 100)]).unwrap();
        assert!(e.denoise(100, Neighbourhood::Four).is_empty());
        assert_eq!(
            e.denoise(101, Neighbourhood::Four).events,
            vec![ev(2, 1, 0, 100)]
        );
        // Same time stamp: the later-in-order event is supported, not the first.
        let e = Events::new(s, vec![ev(0, 0, 0, 7), ev(0, 1, 1, 7)]).unwrap();
        assert_eq!(
            e.denoise(1, Neighbourhood::Four).events,
            vec![ev(0, 1, 1, 7)]
        );
        // Unsorted input is processed in time order but returned in stored order.
        let e = Events::new(s, vec![ev(3, 3, 0, 50), ev(3, 2, 0, 40), ev(0, 0, 0, 45)]).unwrap();
        assert_eq!(
            e.denoise(20, Neighbourhood::Four).events,
            vec![ev(3, 3, 0, 50)]
        );
    }

    #[test]
    fn bin_rounding_edges_and_bad_dt() {
        let s = Sensor::new(2, 1, 1);
        let e = Events::new(
            s,
            vec![ev(0, 0, 0, 1499), ev(1, 0, 0, 1500), ev(0, 0, 0, 99)],
        )
        .unwrap();
        assert_eq!(
            e.bin(100, 1000, 3, Rounding::Floor).unwrap(),
            vec![vec![], vec![0, 1], vec![]]
        );
        assert_eq!(
            e.bin(0, 1000, 3, Rounding::Nearest).unwrap(),
            vec![vec![0], vec![0], vec![1]]
        );
        assert!(e.bin(0, 0, 3, Rounding::Floor).is_err());
        assert!(e.bin(0, 1000, 0, Rounding::Floor).unwrap().is_empty());
    }

    #[test]
    fn crop_rejects_boxes_off_the_sensor() {
        let e = Events::new(Sensor::new(34, 34, 2), vec![]).unwrap();
        assert!(e.crop(10, 0, 25, 34).is_err());
        assert!(e.crop(0, 0, 0, 1).is_err());
        assert!(e.crop(u16::MAX, 0, 2, 1).is_err());
        assert!(e.crop(9, 0, 25, 34).is_ok());
    }
}
