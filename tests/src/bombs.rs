//! Decompression bombs of any declared size, built in milliseconds.
//!
//! A deflate stream of N GiB of spaces is made by compressing 1 MiB of spaces once with a full
//! flush (which ends the block byte-aligned and forgets the history, so the block stands on its
//! own) and repeating that block; a final empty block ends the stream.

use flate2::{Compress, Compression, FlushCompress};

const BLOCK: usize = 1 << 20;

/// Raw deflate data that inflates to `blocks` MiB of spaces.
pub fn deflated_spaces(blocks: usize) -> Vec<u8> {
    let input = vec![b' '; BLOCK];
    let mut compress = Compress::new(Compression::best(), false);
    let mut block = Vec::with_capacity(64 << 10);
    compress
        .compress_vec(&input, &mut block, FlushCompress::Full)
        .expect("compress");
    assert_eq!(
        compress.total_in(),
        BLOCK as u64,
        "one call takes the whole block"
    );
    let mut out = Vec::with_capacity(block.len() * blocks + 2);
    for _ in 0..blocks {
        out.extend_from_slice(&block);
    }
    out.extend_from_slice(&[0x03, 0x00]); // final fixed-Huffman block holding only end-of-block
    out
}

/// A ZIP with one deflated entry whose data and declared size are given (ZIP64 sizes).
/// Its CRC is wrong on purpose: a reader must give up long before it could check it.
pub fn zip_with_entry(name: &str, deflated: &[u8], declared_size: u64) -> Vec<u8> {
    let mut zip = Vec::new();
    let zip64_extra = |zip: &mut Vec<u8>| {
        zip.extend_from_slice(&1u16.to_le_bytes());
        zip.extend_from_slice(&16u16.to_le_bytes());
        zip.extend_from_slice(&declared_size.to_le_bytes());
        zip.extend_from_slice(&(deflated.len() as u64).to_le_bytes());
    };
    // Local file header.
    zip.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    zip.extend_from_slice(&45u16.to_le_bytes()); // version needed: ZIP64
    zip.extend_from_slice(&0u16.to_le_bytes()); // flags
    zip.extend_from_slice(&8u16.to_le_bytes()); // deflate
    zip.extend_from_slice(&[0, 0, 0x21, 0]); // time, date (1980-01-01)
    zip.extend_from_slice(&0u32.to_le_bytes()); // crc
    zip.extend_from_slice(&u32::MAX.to_le_bytes());
    zip.extend_from_slice(&u32::MAX.to_le_bytes());
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&20u16.to_le_bytes());
    zip.extend_from_slice(name.as_bytes());
    zip64_extra(&mut zip);
    zip.extend_from_slice(deflated);
    // Central directory.
    let cd_start = zip.len();
    zip.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    zip.extend_from_slice(&45u16.to_le_bytes()); // made by
    zip.extend_from_slice(&45u16.to_le_bytes()); // needed
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(&8u16.to_le_bytes());
    zip.extend_from_slice(&[0, 0, 0x21, 0]);
    zip.extend_from_slice(&0u32.to_le_bytes());
    zip.extend_from_slice(&u32::MAX.to_le_bytes());
    zip.extend_from_slice(&u32::MAX.to_le_bytes());
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&20u16.to_le_bytes()); // extra
    zip.extend_from_slice(&0u16.to_le_bytes()); // comment
    zip.extend_from_slice(&0u16.to_le_bytes()); // disk
    zip.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
    zip.extend_from_slice(&0u32.to_le_bytes()); // external attributes
    zip.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    zip.extend_from_slice(name.as_bytes());
    zip64_extra(&mut zip);
    let cd_size = zip.len() - cd_start;
    // End of central directory.
    zip.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    zip.extend_from_slice(&[0, 0, 0, 0]);
    zip.extend_from_slice(&1u16.to_le_bytes());
    zip.extend_from_slice(&1u16.to_le_bytes());
    zip.extend_from_slice(&(cd_size as u32).to_le_bytes());
    zip.extend_from_slice(&(cd_start as u32).to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip
}

/// A gzip member around raw deflate data (trailer deliberately wrong).
pub fn gzip_of(deflated: &[u8]) -> Vec<u8> {
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    gz.extend_from_slice(deflated);
    gz.extend_from_slice(&[0; 8]);
    gz
}

/// A local file header (no ZIP64) for `name`: deflate, sizes as given, CRC 0.
fn local_header(zip: &mut Vec<u8>, name: &str, compressed: u32, size: u32) {
    zip.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    zip.extend_from_slice(&20u16.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(&8u16.to_le_bytes());
    zip.extend_from_slice(&[0, 0, 0x21, 0]);
    zip.extend_from_slice(&0u32.to_le_bytes());
    zip.extend_from_slice(&compressed.to_le_bytes());
    zip.extend_from_slice(&size.to_le_bytes());
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(name.as_bytes());
}

/// A central directory record for `name`, its local header at `offset`.
fn central_record(cd: &mut Vec<u8>, name: &str, compressed: u32, size: u32, offset: u32) {
    cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    cd.extend_from_slice(&20u16.to_le_bytes());
    cd.extend_from_slice(&20u16.to_le_bytes());
    cd.extend_from_slice(&0u16.to_le_bytes());
    cd.extend_from_slice(&8u16.to_le_bytes());
    cd.extend_from_slice(&[0, 0, 0x21, 0]);
    cd.extend_from_slice(&0u32.to_le_bytes());
    cd.extend_from_slice(&compressed.to_le_bytes());
    cd.extend_from_slice(&size.to_le_bytes());
    cd.extend_from_slice(&(name.len() as u16).to_le_bytes());
    cd.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
    cd.extend_from_slice(&0u32.to_le_bytes());
    cd.extend_from_slice(&offset.to_le_bytes());
    cd.extend_from_slice(name.as_bytes());
}

fn end_of_directory(zip: &mut Vec<u8>, entries: usize, cd_start: usize) {
    let cd_size = zip.len() - cd_start;
    zip.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    zip.extend_from_slice(&[0, 0, 0, 0]);
    zip.extend_from_slice(&(entries as u16).to_le_bytes());
    zip.extend_from_slice(&(entries as u16).to_le_bytes());
    zip.extend_from_slice(&(cd_size as u32).to_le_bytes());
    zip.extend_from_slice(&(cd_start as u32).to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
}

/// `entries` central-directory entries, `conversations-NNN.json`, all pointing at one
/// deflated entry of `mib` MiB of spaces: each within every per-entry bound, together
/// `entries` × as much (the overlapping-entry bomb).
pub fn overlapping_zip(entries: usize, mib: usize) -> Vec<u8> {
    let deflated = deflated_spaces(mib);
    let size = (mib << 20) as u32;
    let mut zip = Vec::new();
    local_header(
        &mut zip,
        "conversations-000.json",
        deflated.len() as u32,
        size,
    );
    zip.extend_from_slice(&deflated);
    let cd_start = zip.len();
    for i in 0..entries {
        let name = format!("conversations-{i:03}.json");
        central_record(&mut zip, &name, deflated.len() as u32, size, 0);
    }
    end_of_directory(&mut zip, entries, cd_start);
    zip
}

/// `entries` distinct entries, each `mib` MiB of spaces: none overlaps and each stays within
/// its own ratio's grace, but together they inflate far past the file's size.
pub fn many_spaces_zip(entries: usize, mib: usize) -> Vec<u8> {
    let deflated = deflated_spaces(mib);
    let size = (mib << 20) as u32;
    let mut zip = Vec::new();
    let mut offsets = Vec::new();
    for i in 0..entries {
        offsets.push(zip.len() as u32);
        let name = format!("conversations-{i:03}.json");
        local_header(&mut zip, &name, deflated.len() as u32, size);
        zip.extend_from_slice(&deflated);
    }
    let cd_start = zip.len();
    for (i, offset) in offsets.iter().enumerate() {
        let name = format!("conversations-{i:03}.json");
        central_record(&mut zip, &name, deflated.len() as u32, size, *offset);
    }
    end_of_directory(&mut zip, entries, cd_start);
    zip
}
