//! Detector identity: the names of contract §6, the specs of detections.md §8, and sets of them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One detector. Serialized (JSON, TOML) as its contract name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detector {
    Burst,
    SpaceBreadth,
    Baseline,
    PeerOutlier,
    NewSpace,
    NewSource,
    ScriptedAgent,
    ApiCrawl,
    SearchThenFetch,
    Export,
    Privileged,
    OffHours,
    Dormant,
    DeniedProbing,
    Composite,
}

impl Detector {
    /// Every detector, in the order of detections.md §8.
    pub const ALL: [Detector; 15] = [
        Detector::Burst,
        Detector::SpaceBreadth,
        Detector::Baseline,
        Detector::PeerOutlier,
        Detector::NewSpace,
        Detector::NewSource,
        Detector::ScriptedAgent,
        Detector::ApiCrawl,
        Detector::SearchThenFetch,
        Detector::Export,
        Detector::Privileged,
        Detector::OffHours,
        Detector::Dormant,
        Detector::DeniedProbing,
        Detector::Composite,
    ];

    /// The contract §6 name.
    pub fn name(self) -> &'static str {
        match self {
            Detector::Burst => "burst",
            Detector::SpaceBreadth => "space-breadth",
            Detector::Baseline => "baseline",
            Detector::PeerOutlier => "peer-outlier",
            Detector::NewSpace => "new-space",
            Detector::NewSource => "new-source",
            Detector::ScriptedAgent => "scripted-agent",
            Detector::ApiCrawl => "api-crawl",
            Detector::SearchThenFetch => "search-then-fetch",
            Detector::Export => "export",
            Detector::Privileged => "privileged",
            Detector::OffHours => "off-hours",
            Detector::Dormant => "dormant",
            Detector::DeniedProbing => "denied-probing",
            Detector::Composite => "composite",
        }
    }

    /// The detections.md §8 spec it implements.
    pub fn spec(self) -> &'static str {
        match self {
            Detector::Burst => "D1",
            Detector::SpaceBreadth => "D2",
            Detector::Baseline => "D3",
            Detector::PeerOutlier => "D4",
            Detector::NewSpace => "D5",
            Detector::NewSource => "D6",
            Detector::ScriptedAgent => "D7",
            Detector::ApiCrawl => "D8",
            Detector::SearchThenFetch => "D9",
            Detector::Export => "D10",
            Detector::Privileged => "D11",
            Detector::OffHours => "D12",
            Detector::Dormant => "D14",
            Detector::DeniedProbing => "D16",
            Detector::Composite => "D17",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a detector's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown detector '{0}' (one of {list})", list = Detector::ALL.map(Detector::name).join(", "))]
pub struct UnknownDetector(pub String);

impl FromStr for Detector {
    type Err = UnknownDetector;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Detector::ALL.into_iter().find(|d| d.name() == s).ok_or_else(|| UnknownDetector(s.to_string()))
    }
}

/// A set of detectors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DetectorSet(u16);

impl DetectorSet {
    pub fn all() -> Self {
        Detector::ALL.into_iter().collect()
    }

    pub fn contains(self, d: Detector) -> bool {
        self.0 & d.bit() != 0
    }

    pub fn insert(&mut self, d: Detector) {
        self.0 |= d.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// In the order of [`Detector::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Detector> {
        Detector::ALL.into_iter().filter(move |d| self.contains(*d))
    }
}

impl FromIterator<Detector> for DetectorSet {
    fn from_iter<I: IntoIterator<Item = Detector>>(it: I) -> Self {
        let mut s = DetectorSet::default();
        for d in it {
            s.insert(d);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for d in Detector::ALL {
            assert_eq!(d.name().parse::<Detector>(), Ok(d));
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{}\"", d.name()));
            assert_eq!(serde_json::from_str::<Detector>(&format!("\"{d}\"")).unwrap(), d);
        }
        let e = "bursts".parse::<Detector>().unwrap_err().to_string();
        assert!(e.starts_with("unknown detector 'bursts' (one of burst, space-breadth,"), "{e}");
        assert_eq!(Detector::ALL.iter().filter(|d| d.spec().starts_with('D')).count(), 15);
    }

    #[test]
    fn sets_hold_what_was_inserted() {
        let s: DetectorSet = [Detector::Export, Detector::Burst].into_iter().collect();
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![Detector::Burst, Detector::Export]);
        assert!(!s.contains(Detector::Composite));
        assert_eq!(DetectorSet::all().iter().count(), 15);
        assert!(DetectorSet::default().is_empty());
    }
}
