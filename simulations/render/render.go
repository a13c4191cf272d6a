// Package render writes the report of a simulation run into a folder:
// report.json (the Report itself, indented; byte-identical for the same
// scenario, seed and size), report.md (a Markdown report to read, with the
// verdict, the figures, the faults injected, the oracle's findings and the
// plots) and the plots as SVG files drawn with the standard library alone
// (deterministic too: the same report gives the same bytes).
package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vigie-project/vigie/simulations"
)

// File names inside the report folder.
const (
	JSONFile           = "report.json"
	MarkdownFile       = "report.md"
	ConvergencePlot    = "convergence.svg"
	RetractionPlot     = "retraction.svg"
	MessagesPlot       = "messages.svg"
	BytesPlot          = "bytes.svg"
	maxListedFindings  = 200
	listedFindingsNote = "(%d more in report.json)"
)

// Files are the paths Write wrote.
type Files struct {
	JSON, Markdown string   // report.json and report.md
	Plots          []string // the SVG plots, in the order report.md shows them
	SHA256         string   // hex SHA-256 of report.json's bytes
}

// plot is one figure of the report.
type plot struct {
	file, caption string
	svg           []byte
}

// Write writes the report of r into dir, creating dir if needed and
// replacing any earlier report there. wall is the wall-clock time the run
// took; it appears only in report.md (report.json stays reproducible), and
// is left out when zero.
func Write(dir string, r *simulations.Report, wall time.Duration) (Files, error) {
	if r == nil {
		return Files{}, fmt.Errorf("render: no report")
	}
	js, err := JSON(r)
	if err != nil {
		return Files{}, err
	}
	sum := sha256.Sum256(js)
	files := Files{
		JSON:     filepath.Join(dir, JSONFile),
		Markdown: filepath.Join(dir, MarkdownFile),
		SHA256:   hex.EncodeToString(sum[:]),
	}
	plots := drawPlots(r)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("render: %w", err)
	}
	write := func(path string, data []byte) error {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("render: %w", err)
		}
		return nil
	}
	if err := write(files.JSON, js); err != nil {
		return Files{}, err
	}
	for _, p := range plots {
		path := filepath.Join(dir, p.file)
		if err := write(path, p.svg); err != nil {
			return Files{}, err
		}
		files.Plots = append(files.Plots, path)
	}
	if err := write(files.Markdown, markdown(r, plots, files.SHA256, wall)); err != nil {
		return Files{}, err
	}
	return files, nil
}

// JSON returns the bytes of report.json: the report indented by two spaces,
// with a final newline.
func JSON(r *simulations.Report) ([]byte, error) {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		// Only a NaN or an infinity can make a Report unencodable.
		return nil, fmt.Errorf("render: the report cannot be written as JSON (a figure is not a finite number?): %w", err)
	}
	return append(js, '\n'), nil
}

// drawPlots draws the report's figures.
func drawPlots(r *simulations.Report) []plot {
	return []plot{
		{ConvergencePlot, "Convergence latency", latencyPlot("Convergence latency", "convergence latency",
			r.ConvergenceMs, r.Samples, []marker{{"p50", r.ConvergenceP50ms}, {"p99", r.ConvergenceP99ms}})},
		{RetractionPlot, "Retraction latency", latencyPlot("Retraction latency", "retraction latency",
			r.RetractionMs, 0, []marker{{"p50", r.RetractionP50ms}, {"p99", r.RetractionP99ms}})},
		{MessagesPlot, "Messages per node", messagesPlot(r.MessagesPerNode, r.NodeNames)},
		{BytesPlot, "Bytes on the wire", bytesPlot(r.BytesPerRecord, r.BytesPerDiff, r.DuplicateSuppression)},
	}
}

// Passed reports whether the run is a success: the federation converged,
// the oracle found nothing and no record was lost.
func Passed(r *simulations.Report) bool {
	return r.Converged && r.OracleViolations == 0 && r.LostRecords == 0 && len(r.Violations) == 0
}
