//! A flat struct's fields as (name, text) in declaration order: a serde serializer, so a row
//! type becomes CSV and table cells without a JSON tree or a csv round trip per row.

use std::fmt;

use serde::ser::{self, Impossible, Serialize, SerializeStruct, Serializer};

#[derive(Debug)]
pub struct CellError(String);

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CellError {}

impl ser::Error for CellError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CellError(msg.to_string())
    }
}

fn flat_only<T>(what: &str) -> Result<T, CellError> {
    Err(CellError(format!("an answer row holds only flat fields, not {what}")))
}

/// The names and the values of one row's fields, in order.
pub fn cells<T: Serialize>(row: &T) -> Result<(Vec<&'static str>, Vec<String>), CellError> {
    let mut out = (Vec::new(), Vec::new());
    row.serialize(Row(&mut out))?;
    Ok(out)
}

/// Floats as the csv crate and serde_json write them (`130.0`, `48.8`).
fn float(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}

struct Row<'a>(&'a mut (Vec<&'static str>, Vec<String>));

impl<'a> SerializeStruct for Row<'a> {
    type Ok = ();
    type Error = CellError;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), CellError> {
        self.0 .0.push(key);
        self.0 .1.push(value.serialize(Text)?);
        Ok(())
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), CellError> {
        self.0 .0.push(key);
        self.0 .1.push(String::new());
        Ok(())
    }

    fn end(self) -> Result<(), CellError> {
        Ok(())
    }
}

/// Unsupported shapes, at the row level and the value level alike.
macro_rules! reject {
    ($ok:ty) => {
        fn serialize_bool(self, _: bool) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_i8(self, _: i8) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_i16(self, _: i16) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_i32(self, _: i32) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_i64(self, _: i64) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_u8(self, _: u8) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_u16(self, _: u16) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_u32(self, _: u32) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_u64(self, _: u64) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_f32(self, _: f32) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_f64(self, _: f64) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_char(self, _: char) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_str(self, _: &str) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_none(self) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_unit(self) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
        fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, _: &T) -> Result<$ok, CellError> {
            flat_only("a bare value")
        }
    };
}

macro_rules! no_compounds {
    ($ok:ty) => {
        type SerializeSeq = Impossible<$ok, CellError>;
        type SerializeTuple = Impossible<$ok, CellError>;
        type SerializeTupleStruct = Impossible<$ok, CellError>;
        type SerializeTupleVariant = Impossible<$ok, CellError>;
        type SerializeMap = Impossible<$ok, CellError>;
        type SerializeStructVariant = Impossible<$ok, CellError>;

        fn serialize_bytes(self, _: &[u8]) -> Result<$ok, CellError> {
            flat_only("bytes")
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result<$ok, CellError> {
            flat_only("a unit struct")
        }
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<$ok, CellError> {
            flat_only("an enum with data")
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, CellError> {
            flat_only("a list")
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, CellError> {
            flat_only("a tuple")
        }
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, CellError> {
            flat_only("a tuple")
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, CellError> {
            flat_only("an enum with data")
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, CellError> {
            flat_only("a map")
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, CellError> {
            flat_only("an enum with data")
        }
    };
}

impl<'a> Serializer for Row<'a> {
    type Ok = ();
    type Error = CellError;
    type SerializeStruct = Row<'a>;
    no_compounds!(());
    reject!(());

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Row<'a>, CellError> {
        // Exactly the fields: a listing of events keeps millions of these.
        self.0 .0.reserve_exact(len);
        self.0 .1.reserve_exact(len);
        Ok(self)
    }
}

/// One field's value as text.
struct Text;

impl Serializer for Text {
    type Ok = String;
    type Error = CellError;
    type SerializeStruct = Impossible<String, CellError>;
    no_compounds!(String);

    fn serialize_bool(self, v: bool) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<String, CellError> {
        Ok(float(f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<String, CellError> {
        Ok(float(v))
    }
    fn serialize_char(self, v: char) -> Result<String, CellError> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, CellError> {
        Ok(v.to_owned())
    }
    fn serialize_none(self) -> Result<String, CellError> {
        Ok(String::new())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<String, CellError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, CellError> {
        Ok(String::new())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<String, CellError> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, v: &T) -> Result<String, CellError> {
        v.serialize(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, CellError> {
        flat_only("a struct inside a row")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct R {
        name: String,
        n: u64,
        score: f64,
        gone: Option<String>,
        here: Option<u32>,
    }

    #[test]
    fn a_flat_struct_becomes_named_cells() {
        let r = R { name: "a,b".into(), n: 7, score: 130.0, gone: None, here: Some(3) };
        let (names, values) = cells(&r).unwrap();
        assert_eq!(names, ["name", "n", "score", "gone", "here"]);
        assert_eq!(values, ["a,b", "7", "130.0", "", "3"]);
        assert_eq!(values.capacity(), 5, "no spare room per row");
        assert_eq!(cells(&R { score: 48.8, ..r }).unwrap().1[2], "48.8");
        #[derive(serde::Serialize)]
        struct Nested {
            inner: R,
        }
        let n = Nested { inner: R { name: String::new(), n: 0, score: 0.0, gone: None, here: None } };
        assert!(cells(&n).unwrap_err().to_string().contains("flat fields"));
        assert!(cells(&5u8).is_err());
    }
}
