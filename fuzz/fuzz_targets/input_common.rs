// Shared by the input-reader targets: the bytes are written to a file (the
// readers take paths or stdin) and streamed through `DomainStream` with the
// format forced; every item must be a domain or an error, never a panic.
use std::io::Write;
use std::sync::{Arc, OnceLock};

use authcensus_input::{
    CountOnly, DomainStream, Format, InputPath, InputSpec, PslSections, StreamOptions, SuffixList,
};

fn psl() -> Arc<SuffixList> {
    static PSL: OnceLock<Arc<SuffixList>> = OnceLock::new();
    PSL.get_or_init(|| Arc::new(SuffixList::embedded(PslSections::All).expect("embedded PSL")))
        .clone()
}

pub fn run(data: &[u8], format: Format) {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(data).expect("write");
    let mut spec = InputSpec::new(InputPath::File(file.path().to_path_buf()));
    spec.format = Some(format);
    let stream = DomainStream::new(vec![spec], StreamOptions::default(), psl(), CountOnly);
    for item in stream {
        if let Ok(d) = item {
            assert!(!d.domain.is_empty() && d.domain.len() <= 253, "{:?}", d.domain);
            assert_eq!(d.domain, d.domain.to_ascii_lowercase());
        }
    }
}
