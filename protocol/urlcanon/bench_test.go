package urlcanon

import "testing"

// benchURLs is a mix of typical indicator URLs.
var benchURLs = []string{
	"http://www.evil.example/forum/thread/12345/page.html?id=7",
	"https://evil.example/",
	"http://cdn.media.evil.example/videos/2015/11/clip.mp4",
	"evil.example/join-us",
	"http://Evil.Example/a/b/../c/index.php?lang=fr&page=2",
	"https://198.51.100.23/uploads/flyer.pdf",
	"http://sub.domain.evil.example/%7Euser/blog/post-1.html#comments",
	"https://www.evil.example:8443/path/to/some/deep/resource.html?session=abc123&x=1",
}

// BenchmarkCanonicalize measures canonicalisation plus expression expansion,
// per URL.
func BenchmarkCanonicalize(b *testing.B) {
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		u, err := Canonicalize(benchURLs[i%len(benchURLs)])
		if err != nil {
			b.Fatal(err)
		}
		n += len(u.Expressions())
	}
	if n == 0 {
		b.Fatal("no expressions")
	}
}
