package ebs

// Status is a snapshot's status as the API reports it.
type Status string

// The three statuses of the EBS direct APIs.
const (
	StatusPending   Status = "pending"
	StatusCompleted Status = "completed"
	StatusError     Status = "error"
)

// Tag is one key/value tag on a snapshot.
type Tag struct {
	Key   string
	Value string
}
