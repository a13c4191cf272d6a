package node

import "errors"

// Errors callers (and the command line) test for.
var (
	// ErrNotInitialised means the folder holds no node.
	ErrNotInitialised = errors.New("node: folder is not a Vigie node")
	// ErrAlreadyInitialised means Init was pointed at an existing node.
	ErrAlreadyInitialised = errors.New("node: folder already holds a Vigie node")
	// ErrCorruptNode means a file of the node folder is missing or damaged.
	ErrCorruptNode = errors.New("node: node folder is damaged")
	// ErrNewerFormat means the folder was written by a newer Vigie.
	ErrNewerFormat = errors.New("node: node folder has a newer format")
	// ErrInvalidInput means a request to the node is malformed; the message
	// says which field.
	ErrInvalidInput = errors.New("node: invalid input")
	// ErrMissingPurpose means a look-up came without a justification.
	ErrMissingPurpose = errors.New("node: a look-up needs a purpose")
	// ErrUnknownRecord means no record with that CID is stored.
	ErrUnknownRecord = errors.New("node: unknown record")
	// ErrNotOrigin means only the agency that made an assertion may retract it.
	ErrNotOrigin = errors.New("node: only the originating agency may do this")
	// ErrAlreadyRetracted means the assertion was retracted before.
	ErrAlreadyRetracted = errors.New("node: assertion already retracted")
)
