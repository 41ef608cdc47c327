//! The page catalog (contract §5): `page_id,space_key,title` rows that name pages authoritatively.

use std::path::Path;

use pagetrail_core::catalog::{parse_catalog, parse_users, CatalogError};

use crate::{IngestError, Ingester, Result};

/// Reads a catalog CSV. The header must name `page_id`, `space_key` and `title` (any order,
/// further columns ignored); every bad row is an error naming its line.
pub fn read_catalog(path: &Path) -> Result<Vec<(u64, String, String)>> {
    parse_catalog(&read(path)?).map_err(|e| bad(path, e))
}

/// Reads a user directory CSV (contract §5a): `username,user_key,account_id,display_name`
/// (any order; further columns ignored). Returns (username, user_key, account_id) per row.
pub fn read_users(path: &Path) -> Result<Vec<(String, String, String)>> {
    parse_users(&read(path)?).map_err(|e| bad(path, e))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| IngestError::Io { path: path.to_owned(), source })
}

fn bad(path: &Path, e: CatalogError) -> IngestError {
    IngestError::Catalog { path: path.to_owned(), line: e.line, msg: e.msg }
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
