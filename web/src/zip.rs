//! The zip archive for "save as download" where the browser has no File System Access API:
//! stored entries (no compression, so the `zip` crate needs no codec), written by the `zip`
//! crate. Every zip reader opens it.

use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A zip archive of `(path, bytes)` entries, in the given order. Entries carry the zip
/// format's earliest timestamp (1980-01-01): the page reads no clock, so the same files
/// give the same bytes.
pub fn zip(entries: &[(String, Vec<u8>)]) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, data) in entries {
        w.start_file(name.as_str(), options)?;
        w.write_all(data)?;
    }
    Ok(w.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    #[test]
    fn entries_read_back_in_order_with_their_bytes() {
        let entries = vec![
            ("svc/planton.yaml".to_string(), b"name: a\n".to_vec()),
            ("svc/_kustomize/base/ü.yaml".to_string(), Vec::new()),
        ];
        let bytes = super::zip(&entries).expect("zip");
        assert_eq!(bytes, super::zip(&entries).expect("zip"), "deterministic");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("read back");
        assert_eq!(archive.len(), 2);
        for (i, (name, data)) in entries.iter().enumerate() {
            let mut f = archive.by_index(i).expect("entry");
            assert_eq!(f.name().expect("entry name"), name.as_str());
            let mut got = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut got).expect("read entry");
            assert_eq!(&got, data);
        }
    }
}
