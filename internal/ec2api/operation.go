package ec2api

import (
	"context"

	"github.com/ebsd/ebsd/internal/throttle"
)

// apiName is which Query API a request speaks: it decides the verifier
// (the SigV4 service), the Version and the error document.
type apiName uint8

const (
	apiEC2 apiName = iota
	apiSTS
)

// The Version of each API and the SigV4 service that signs it
// (docs/ec2-api.md §0, §1).
const (
	versionEC2 = "2016-11-15"
	versionSTS = "2011-06-15"
	serviceEC2 = "ec2"
	serviceSTS = "sts"
)

func (a apiName) String() string {
	if a == apiSTS {
		return serviceSTS
	}
	return serviceEC2
}

// operation identifies an action for metrics, logs and throttling.
type operation uint8

// The operations, and opUnknown for a request that names none.
const (
	opUnknown operation = iota
	opDescribeSnapshots
	opDeleteSnapshot
	opCopySnapshot
	opCreateTags
	opDeleteTags
	opDescribeTags
	opDescribeRegions
	opGetCallerIdentity
	numOperations
)

// call is one authenticated request, as an action sees it.
type call struct {
	ctx     context.Context
	form    *node  // the body's root
	account string // the caller's account
	id      string // the request ID
	host    string // the Host the client addressed, for DescribeRegions
	dryRun  bool
}

// action is what the handler knows of one operation.
type action struct {
	name string
	api  apiName
	// keys are the form keys the action accepts besides Action and
	// Version ('#' is a list index); any other is an UnknownParameter.
	keys []string
	// throttled is the quota the action is held to, when it has one.
	throttled bool
	quota     throttle.Op
	// serve answers the call: the whole XML document, or an error.
	serve func(h *Handler, c *call) ([]byte, error)
}

// actions lists every operation but opUnknown. The keys are the wire keys
// of the service models (docs/ec2-api.md §2.2, §5).
var actions = [numOperations]action{
	opDescribeSnapshots: {
		name: "DescribeSnapshots", api: apiEC2, throttled: true, quota: throttle.DescribeSnapshots,
		keys:  []string{"DryRun", "MaxResults", "NextToken", "Owner.#", "RestorableBy.#", "SnapshotId.#", "Filter.#.Name", "Filter.#.Value.#"},
		serve: (*Handler).describeSnapshots,
	},
	opDeleteSnapshot: {
		name: "DeleteSnapshot", api: apiEC2, throttled: true, quota: throttle.DeleteSnapshot,
		keys:  []string{"DryRun", "SnapshotId"},
		serve: (*Handler).deleteSnapshot,
	},
	opCopySnapshot: {
		name: "CopySnapshot", api: apiEC2, throttled: true, quota: throttle.CopySnapshot,
		keys: []string{"DryRun", "SourceRegion", "SourceSnapshotId", "Description", "Encrypted", "KmsKeyId",
			"PresignedUrl", "DestinationRegion", "CompletionDurationMinutes", "DestinationOutpostArn", "DestinationAvailabilityZone",
			"TagSpecification.#.ResourceType", "TagSpecification.#.Tag.#.Key", "TagSpecification.#.Tag.#.Value"},
		serve: (*Handler).copySnapshot,
	},
	opCreateTags: {
		name: "CreateTags", api: apiEC2, throttled: true, quota: throttle.CreateTags,
		keys:  []string{"DryRun", "ResourceId.#", "Tag.#.Key", "Tag.#.Value"},
		serve: (*Handler).createTags,
	},
	opDeleteTags: {
		name: "DeleteTags", api: apiEC2, throttled: true, quota: throttle.DeleteTags,
		keys:  []string{"DryRun", "ResourceId.#", "Tag.#.Key", "Tag.#.Value"},
		serve: (*Handler).deleteTags,
	},
	opDescribeTags: {
		name: "DescribeTags", api: apiEC2, throttled: true, quota: throttle.DescribeTags,
		keys:  []string{"DryRun", "MaxResults", "NextToken", "Filter.#.Name", "Filter.#.Value.#"},
		serve: (*Handler).describeTags,
	},
	opDescribeRegions: {
		name: "DescribeRegions", api: apiEC2, throttled: true, quota: throttle.DescribeRegions,
		keys:  []string{"DryRun", "AllRegions", "RegionName.#", "Filter.#.Name", "Filter.#.Value.#"},
		serve: (*Handler).describeRegions,
	},
	opGetCallerIdentity: {
		name: "GetCallerIdentity", api: apiSTS,
		serve: (*Handler).getCallerIdentity,
	},
}

// String returns the action's name, or "Unknown".
func (o operation) String() string {
	if o > opUnknown && o < numOperations {
		return actions[o].name
	}
	return "Unknown"
}

// lookupAction returns the operation named by Action in api.
func lookupAction(a apiName, name string) (operation, bool) {
	for op := opUnknown + 1; op < numOperations; op++ {
		if actions[op].api == a && actions[op].name == name {
			return op, true
		}
	}
	return opUnknown, false
}
