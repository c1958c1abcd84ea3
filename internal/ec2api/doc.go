// Package ec2api serves, on ebsd's listener, the EC2 Query API actions
// that manage EBS-direct snapshots (DescribeSnapshots, DeleteSnapshot,
// CopySnapshot, CreateTags, DeleteTags, DescribeTags), EC2
// DescribeRegions, and STS GetCallerIdentity, exactly as the AWS CLI,
// boto3 and the Go and JS SDKs speak them. docs/ec2-api.md is the wire
// specification, with its sources.
//
// Every request is POST / with a form-encoded body; the handler reads the
// body (bounded in size and time) before it checks the SigV4 signature
// over it, picks the API by the form's Version and the credential scope's
// service (ec2 for 2016-11-15, sts for 2011-06-15), and routes by Action.
// Values are the service's to check (internal/snapshot); this package
// decodes the form, builds the service's inputs (filters become a Match
// function), and writes XML answers and errors. Errors are mapped to EC2
// and STS codes in one table, errors.go.
package ec2api
