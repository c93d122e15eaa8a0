//! Interleaved rounds, the benches' answer to a shared, noisy machine:
//! each round runs every row (configuration) once, so that a neighbour's
//! load slows all rows of a round alike; a row's rate is the median over
//! the rounds, and a ratio between two rows is taken within each round,
//! then the median over the rounds. The tables are Markdown
//! (`benches/group_commit.rs`, `benches/peers/benches/synced.rs`).

use std::time::Duration;

use crate::timed_threads::Run;

/// The median of `v` (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The `p` quantile (0 to 1) of `sorted`, the nearest rank; zero when
/// empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// What interleaved rounds measured: per row, its rate in each round and
/// every latency of all its rounds.
#[derive(Debug, Clone)]
pub struct Rounds {
    rates: Vec<Vec<f64>>,
    lats: Vec<Vec<Duration>>,
}

impl Rounds {
    /// Runs `rounds` rounds of `rows` rows, in order within each round:
    /// `run(row)` does `n` operations and returns `(n, its run)`; the
    /// row's rate in that round is `n` over the run's elapsed time.
    pub fn measure(rounds: usize, rows: usize, mut run: impl FnMut(usize) -> (u64, Run)) -> Rounds {
        let mut m = Rounds {
            rates: vec![Vec::with_capacity(rounds); rows],
            lats: vec![Vec::new(); rows],
        };
        for _ in 0..rounds {
            for row in 0..rows {
                let (n, (elapsed, lat)) = run(row);
                m.rates[row].push(n as f64 / elapsed.as_secs_f64());
                m.lats[row].extend(lat);
            }
        }
        for l in &mut m.lats {
            l.sort();
        }
        m
    }

    /// The number of rounds.
    pub fn rounds(&self) -> usize {
        self.rates.first().map_or(0, Vec::len)
    }

    /// `row`'s rate: the median over the rounds (operations per second).
    pub fn rate(&self, row: usize) -> f64 {
        median(self.rates[row].clone())
    }

    /// `row`'s rate over `base`'s, taken within each round; the median
    /// over the rounds.
    pub fn ratio(&self, row: usize, base: usize) -> f64 {
        median(
            (0..self.rounds())
                .map(|r| self.rates[row][r] / self.rates[base][r])
                .collect(),
        )
    }

    /// The `p` quantile of `row`'s latencies over all its rounds.
    pub fn latency(&self, row: usize, p: f64) -> Duration {
        percentile(&self.lats[row], p)
    }
}

/// A Markdown table: `header`, then `rows`, the first column aligned left
/// and the others right; each line ends with a newline.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let line = |cells: &[&str]| format!("| {} |\n", cells.join(" | "));
    let mut out = line(header);
    out.push_str(&format!("|---{}|\n", "|---:".repeat(header.len() - 1)));
    for row in rows {
        out.push_str(&line(&row.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_taken_within_a_round() {
        let ms = Duration::from_millis;
        // Row 1 is twice as fast as row 0 in every round, though the
        // rounds' speeds differ.
        let speeds = [1, 2, 5];
        let mut calls = 0;
        let m = Rounds::measure(3, 2, |row| {
            let round = calls / 2;
            calls += 1;
            let elapsed = ms(100 / speeds[round] / (row as u64 + 1));
            (10, (elapsed, vec![elapsed]))
        });
        assert_eq!(m.rounds(), 3);
        assert!((m.ratio(1, 0) - 2.0).abs() < 1e-9);
        assert!((m.rate(0) - 200.0).abs() < 1e-9);
        assert_eq!(m.latency(1, 0.0), ms(10));
        assert_eq!(m.latency(0, 1.0), ms(100));
    }

    #[test]
    fn table_is_markdown() {
        let t = table(
            &["row", "a", "b"],
            &[vec!["x".into(), "1".into(), String::new()]],
        );
        assert_eq!(t, "| row | a | b |\n|---|---:|---:|\n| x | 1 |  |\n");
    }
}
