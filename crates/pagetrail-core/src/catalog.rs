//! The page catalog and user directory CSVs (contract §5, §5a), parsed from bytes with no IO.

/// A bad header or row: the 1-based line it is on and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {msg}")]
pub struct CatalogError {
    pub line: u64,
    pub msg: String,
}

fn err(line: u64, msg: String) -> CatalogError {
    CatalogError { line, msg }
}

fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().flexible(true).from_reader(bytes)
}

fn row_error(e: csv::Error) -> CatalogError {
    err(e.position().map_or(0, |p| p.line()), e.to_string())
}

/// Parses a catalog: `(page_id, space_key, title)` per row. The header must name `page_id`,
/// `space_key` and `title` (any order, further columns ignored); every bad row is an error
/// naming its line.
pub fn parse_catalog(bytes: &[u8]) -> Result<Vec<(u64, String, String)>, CatalogError> {
    let mut rdr = reader(bytes);
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
        let rec = rec.map_err(row_error)?;
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

/// Parses a user directory: `username,user_key,account_id,display_name` (any order, further
/// columns ignored). Returns (username, user_key, account_id) per row.
pub fn parse_users(bytes: &[u8]) -> Result<Vec<(String, String, String)>, CatalogError> {
    let mut rdr = reader(bytes);
    let headers = rdr.headers().map_err(|e| err(1, e.to_string()))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let cu = col("username").ok_or_else(|| err(1, "the header has no `username` column".into()))?;
    let (ck, ca) = (col("user_key"), col("account_id"));
    if ck.is_none() && ca.is_none() {
        return Err(err(1, "the header has neither `user_key` nor `account_id`".into()));
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(row_error)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_rows_and_errors_name_lines() {
        let rows = parse_catalog(b"space_key,page_id,title\nENG,42,\"Run, \"\"book\"\"\"\n").unwrap();
        assert_eq!(rows, vec![(42, "ENG".into(), "Run, \"book\"".into())]);
        assert_eq!(parse_catalog(b"page_id,space_key,title\n1, ,T\n").unwrap_err(), err(2, "empty space_key".into()));
        assert_eq!(parse_catalog(b"").unwrap_err().line, 1);
    }

    #[test]
    fn user_rows_and_errors_name_lines() {
        let rows = parse_users(b"username,account_id\nAnna,acc-1\n").unwrap();
        assert_eq!(rows, vec![("Anna".into(), String::new(), "acc-1".into())]);
        assert_eq!(parse_users(b"username,user_key\n-,k\n").unwrap_err(), err(2, "empty username".into()));
    }
}
