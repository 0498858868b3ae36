"""The ECR walkthrough with boto3 (the AWS SDK for Python) against warden.

Run by `ecr_api.rs`: python3 boto3_walkthrough.py ENDPOINT ACCESS_KEY SECRET_KEY REGISTRY_HOST
Every step asserts ECR's answer; the script exits non-zero (with a traceback) on the first surprise.
"""

import base64
import hashlib
import json
import sys
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, key, secret, host = sys.argv[1:5]
ecr = boto3.client(
    "ecr",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id=key,
    aws_secret_access_key=secret,
    config=Config(retries={"max_attempts": 1}),
)


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{call.__name__} should have failed")


# Repositories, with tags, paginated.
for i in range(3):
    ecr.create_repository(repositoryName=f"sdk/repo-{i}", tags=[{"Key": "team", "Value": f"t{i}"}])
pages = list(ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 2}))
assert [len(p["repositories"]) for p in pages] == [2, 1], pages
names = [r["repositoryName"] for p in pages for r in p["repositories"]]
assert names == ["sdk/repo-0", "sdk/repo-1", "sdk/repo-2"], names
repo = pages[0]["repositories"][0]
assert repo["repositoryUri"] == f"{host}/sdk/repo-0", repo
assert repo["createdAt"].year >= 2024, repo  # botocore parsed the epoch timestamp

code, message, status = error_code(ecr.describe_repositories, repositoryNames=["sdk/none"])
assert (code, status) == ("RepositoryNotFoundException", 400), (code, status)
assert message == "The repository with name 'sdk/none' does not exist in the registry with id '111122223333'", message
code, _, _ = error_code(ecr.create_repository, repositoryName="sdk/repo-0")
assert code == "RepositoryAlreadyExistsException", code

# Authorization token: base64 "AWS:<password>", 12 hours, proxyEndpoint.
auth = ecr.get_authorization_token()["authorizationData"][0]
user, password = base64.b64decode(auth["authorizationToken"]).decode().split(":", 1)
assert user == "AWS", user
hours = (auth["expiresAt"] - auth["expiresAt"].now(auth["expiresAt"].tzinfo)).total_seconds() / 3600
assert 11.9 < hours <= 12.0, hours
assert auth["proxyEndpoint"].endswith(host), auth

# Push with the layer API, pull with a presigned URL.
layer = bytes(range(256)) * 4096
digest = "sha256:" + hashlib.sha256(layer).hexdigest()
up = ecr.initiate_layer_upload(repositoryName="sdk/repo-1")
ecr.upload_layer_part(repositoryName="sdk/repo-1", uploadId=up["uploadId"], partFirstByte=0, partLastByte=len(layer) - 1, layerPartBlob=layer)
ecr.complete_layer_upload(repositoryName="sdk/repo-1", uploadId=up["uploadId"], layerDigests=[digest])
config = b'{"architecture":"arm64","os":"linux"}'
config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
up = ecr.initiate_layer_upload(repositoryName="sdk/repo-1")
ecr.upload_layer_part(repositoryName="sdk/repo-1", uploadId=up["uploadId"], partFirstByte=0, partLastByte=len(config) - 1, layerPartBlob=config)
ecr.complete_layer_upload(repositoryName="sdk/repo-1", uploadId=up["uploadId"], layerDigests=[config_digest])
manifest = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config_digest, "size": len(config)},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": digest, "size": len(layer)}],
})
put = ecr.put_image(repositoryName="sdk/repo-1", imageManifest=manifest, imageTag="v1")
image_digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
assert put["image"]["imageId"] == {"imageDigest": image_digest, "imageTag": "v1"}, put
assert put["image"]["imageManifestMediaType"] == "application/vnd.docker.distribution.manifest.v2+json", put

details = ecr.describe_images(repositoryName="sdk/repo-1")["imageDetails"]
assert len(details) == 1 and details[0]["imageTags"] == ["v1"] and details[0]["imageSizeInBytes"] == len(layer), details
url = ecr.get_download_url_for_layer(repositoryName="sdk/repo-1", layerDigest=digest)["downloadUrl"]
with urllib.request.urlopen(url) as r:
    assert r.read() == layer

got = ecr.batch_get_image(repositoryName="sdk/repo-1", imageIds=[{"imageTag": "v1"}],
                          acceptedMediaTypes=["application/vnd.docker.distribution.manifest.v2+json"])
assert got["images"][0]["imageManifest"] == manifest and got["failures"] == [], got

# Tags and the tag-mutability switch.
arn = "arn:aws:ecr:us-east-1:111122223333:repository/sdk/repo-1"
ecr.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "sdk"}, {"Key": "tier", "Value": "1"}])
assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "sdk"}, {"Key": "tier", "Value": "1"}]
code, _, _ = error_code(ecr.tag_resource, resourceArn=arn, tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
assert code == "TooManyTagsException", code
ecr.put_image_tag_mutability(repositoryName="sdk/repo-1", imageTagMutability="IMMUTABLE")
other = manifest.replace('"schemaVersion": 2', '"schemaVersion":2')
code, _, _ = error_code(ecr.put_image, repositoryName="sdk/repo-1", imageManifest=other, imageTag="v1")
assert code == "ImageTagAlreadyExistsException", code

# Clean up: delete needs force while images remain.
code, _, _ = error_code(ecr.delete_repository, repositoryName="sdk/repo-1")
assert code == "RepositoryNotEmptyException", code
ecr.delete_repository(repositoryName="sdk/repo-1", force=True)
print("boto3 walkthrough: ok")
