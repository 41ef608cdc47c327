//! The page catalog (contract §5): `page_id,space_key,title` rows that name pages authoritatively.

use std::path::Path;

use crate::{IngestError, Ingester, Result};

/// Reads a catalog CSV. The header must name `page_id`, `space_key` and `title` (any order,
/// further columns ignored); every bad row is an error naming its line.
pub fn read_catalog(path: &Path) -> Result<Vec<(u64, String, String)>> {
    let err = |line: u64, msg: String| IngestError::Catalog { path: path.to_owned(), line, msg };
    let file = std::fs::File::open(path).map_err(|source| IngestError::Io { path: path.to_owned(), source })?;
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = rdr.headers().map_err(|e| err(1, e.to_string()))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| err(1, format!("the header has no `{name}` column")))
    };
    let (ci, cs, ct) = (col("page_id")?, col("space_key")?, col("title")?);
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| err(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = rec.position().map_or(0, |p| p.line());
        let field = |i: usize, name: &str| rec.get(i).ok_or_else(|| err(line, format!("missing `{name}`")));
        let id_s = field(ci, "page_id")?.trim();
        let id: u64 = id_s.parse().map_err(|_| err(line, format!("page_id `{id_s}` is not a number")))?;
        let space = field(cs, "space_key")?.trim().to_owned();
        if space.is_empty() {
            return Err(err(line, "empty space_key".into()));
        }
        rows.push((id, space, field(ct, "title")?.to_owned()));
    }
    Ok(rows)
}

/// Reads a user directory CSV (contract §5a): `username,user_key,account_id,display_name`
/// (any order; further columns ignored). Returns (username, user_key, account_id) per row.
pub fn read_users(path: &Path) -> Result<Vec<(String, String, String)>> {
    let err = |line: u64, msg: String| IngestError::Catalog { path: path.to_owned(), line, msg };
    let file = std::fs::File::open(path).map_err(|source| IngestError::Io { path: path.to_owned(), source })?;
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = rdr.headers().map_err(|e| err(1, e.to_string()))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let cu = col("username").ok_or_else(|| err(1, "the header has no `username` column".into()))?;
    let (ck, ca) = (col("user_key"), col("account_id"));
    if ck.is_none() && ca.is_none() {
        return Err(err(1, "the header has neither `user_key` nor `account_id`".into()));
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| err(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = rec.position().map_or(0, |p| p.line());
        let get = |c: Option<usize>| c.and_then(|i| rec.get(i)).map(|s| s.trim().to_owned()).unwrap_or_default();
        let user = get(Some(cu));
        if user.is_empty() || user == "-" {
            return Err(err(line, "empty username".into()));
        }
        rows.push((user, get(ck), get(ca)));
    }
    Ok(rows)
}

impl Ingester<'_> {
    /// Loads a catalog file; returns the number of rows.
    pub fn load_catalog(&mut self, path: &Path) -> Result<u64> {
        let rows = read_catalog(path)?;
        self.apply_catalog(&rows)?;
        Ok(rows.len() as u64)
    }

    /// Loads a user directory; returns the number of rows.
    pub fn load_users(&mut self, path: &Path) -> Result<u64> {
        let rows = read_users(path)?;
        self.apply_users(&rows)?;
        Ok(rows.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_directories() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("u.csv");
        std::fs::write(&p, "display_name,username,account_id,user_key\n\"Smith, J\",JSmith,acc-1,\nA,anna,,key-2\n")
            .unwrap();
        assert_eq!(
            read_users(&p).unwrap(),
            vec![("JSmith".into(), "".into(), "acc-1".into()), ("anna".into(), "key-2".into(), "".into())]
        );
        std::fs::write(&p, "username,user_key\n,key-3\n").unwrap();
        assert!(read_users(&p).unwrap_err().to_string().contains("line 2: empty username"));
        std::fs::write(&p, "username,display_name\nanna,A\n").unwrap();
        assert!(read_users(&p).unwrap_err().to_string().contains("neither"));
    }

    #[test]
    fn reads_quoted_rows_and_reports_bad_ones() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.csv");
        std::fs::write(&p, "space_key,page_id,title,extra\nENG,42,\"Run, \"\"book\"\"\",x\nOPS,7,Plain,\n").unwrap();
        assert_eq!(
            read_catalog(&p).unwrap(),
            vec![(42, "ENG".into(), "Run, \"book\"".into()), (7, "OPS".into(), "Plain".into())]
        );
        std::fs::write(&p, "page_id,space_key,title\nabc,ENG,T\n").unwrap();
        let e = read_catalog(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("not a number"), "{e}");
        std::fs::write(&p, "id,space,title\n1,A,B\n").unwrap();
        assert!(read_catalog(&p).unwrap_err().to_string().contains("page_id"));
    }
}
