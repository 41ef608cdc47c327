//! The CI pass of the fuzz harness, on stable and without cargo-fuzz: every target replays its
//! seed corpus (`fuzz/corpus/<target>/`), then a fixed, seeded mutation of it. A panic fails.

use std::path::PathBuf;

/// Mutated inputs per target: about a second for all targets in `--release`.
const MUTATIONS: usize = 20_000;

/// xorshift64*: deterministic, so a failure here fails the same way on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).expect("corpus file")).collect()
}

/// One mutation of a corpus input, in the spirit of libFuzzer's: bit flips, byte inserts and
/// deletes, interesting bytes, splices of two inputs, repeated chunks.
fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => v.insert(at, rng.next() as u8),
            2 if at < v.len() => {
                let n = 1 + rng.below((v.len() - at).min(8));
                v.drain(at..at + n);
            }
            3 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = [0x00, 0x7f, 0x80, 0xff, b'"', b' ', b',', b'\n', b'[', b'{', b'\\'][rng.below(11)];
            }
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            5 if at < v.len() => {
                let n = 1 + rng.below((v.len() - at).min(16));
                let chunk = v[at..at + n].to_vec();
                for _ in 0..1 + rng.below(8) {
                    v.splice(at..at, chunk.iter().copied());
                }
            }
            _ => v.extend_from_slice(pagetrail_fuzz::SEP),
        }
    }
    v
}

#[test]
fn every_target_survives_its_corpus_and_mutations() {
    for &(name, target) in pagetrail_fuzz::TARGETS {
        let seeds = corpus(name);
        assert!(!seeds.is_empty(), "fuzz/corpus/{name} is empty");
        for s in &seeds {
            target(s);
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
        for _ in 0..MUTATIONS {
            let input = mutate(&mut rng, &seeds);
            let ok = std::panic::catch_unwind(|| target(&input));
            assert!(ok.is_ok(), "{name} panicked on {:?}", String::from_utf8_lossy(&input));
        }
    }
}
